// latentlab live page: the generator's worker (a classic Worker made from a blob; ORT comes in as a data: URL).
// Messages in:  {type: "init", ort, wasm, model, meta}  (base64 strings; wasm and model gzipped)
//               {type: "run", id, n, z, c, region, keeps}  (Float32Arrays; c an Int32Array or null)
// Messages out: {type: "ready", ms} | {type: "result", id, rgb, n, ms} | {type: "error", id, message}
"use strict";
let ort = null, session = null, meta = null;

function bytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function gunzip(b64) {
  const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function init(m) {
  const t0 = performance.now();
  meta = m.meta;
  ort = await import("data:text/javascript;base64," + m.ort);
  const [wasm, model] = await Promise.all([gunzip(m.wasm), gunzip(m.model)]);
  ort.env.wasm.numThreads = 1;       // threads need SharedArrayBuffer (cross-origin isolation): not on file://
  ort.env.wasm.proxy = false;        // ORT's own proxy worker cannot start from file://
  ort.env.wasm.wasmBinary = wasm.buffer;
  session = await ort.InferenceSession.create(model, {executionProviders: ["wasm"], graphOptimizationLevel: "all"});
  return performance.now() - t0;
}

async function run(m) {
  const n = m.n, size = meta.size, feeds = {};
  feeds.z = new ort.Tensor("float32", m.z, [n, meta.nz]);
  if (meta.num_classes > 0) feeds.c = new ort.Tensor("int64", BigInt64Array.from(m.c, BigInt), [n]);
  feeds.region = new ort.Tensor("float32", m.region, [n, 1, size, size]);
  meta.layers.forEach((l, i) => { feeds["keep:" + l.name] = new ort.Tensor("float32", m.keeps[i], [n, l.maps]); });
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const rgb = new Uint8Array(out.rgb.data);   // a copy we own, so it can be transferred
  return {rgb, ms};
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      const ms = await init(m);
      self.postMessage({type: "ready", ms});
    } else if (m.type === "run") {
      const r = await run(m);
      self.postMessage({type: "result", id: m.id, n: m.n, rgb: r.rgb, ms: r.ms}, [r.rgb.buffer]);
    }
  } catch (err) {
    self.postMessage({type: "error", id: m.id, message: String(err && err.stack || err)});
  }
};
