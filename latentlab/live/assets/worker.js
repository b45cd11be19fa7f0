// latentlab live page: the generator's worker (a classic Worker made from a blob; ORT comes in as a data: URL).
// Messages in:  {type: "init", ort, wasm, model, meta}  (ort: base64; wasm, model: {text, bytes}, gzipped, 7-bit;
//               the model's bytes in two planes, model.raw of them)
//               {type: "run", id, n, z, c, region, keeps}  (Float32Arrays; c an Int32Array or null)
// Messages out: {type: "ready", ms} | {type: "result", id, rgb, n, ms} | {type: "error", id, message}
"use strict";
let ort = null, session = null, meta = null;

// latentlab.live.encode: 7-bit groups as ASCII; NUL, CR and "<" (ILLEGAL) as U+0080 + 128 * which + next group
const ILLEGAL = [0, 13, 60];
function decode7(p) {
  const s = p.text, n = p.bytes, out = new Uint8Array(n);
  let acc = 0, bits = 0, j = 0;
  const push = (v) => {
    acc = (acc << 7) | v; bits += 7;
    if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 255; acc &= (1 << bits) - 1; }
  };
  for (let i = 0; i < s.length && j < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) push(c); else { const d = c - 128; push(ILLEGAL[d >> 7]); push(d & 127); }
  }
  if (j < n) throw new Error(`decode7: ${j} of ${n} bytes in the page`);
  return out;
}

// latentlab.live.encode.byte_planes: the model's even bytes, then its odd bytes
function fromBytePlanes(a, n) {
  const h = a.length >> 1, out = new Uint8Array(a.length);
  for (let i = 0; i < h; i++) { out[2 * i] = a[i]; out[2 * i + 1] = a[h + i]; }
  return out.subarray(0, n);
}

async function gunzip(p) {
  const stream = new Blob([decode7(p)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function init(m) {
  const t0 = performance.now();
  meta = m.meta;
  ort = await import("data:text/javascript;base64," + m.ort);
  const [wasm, planes] = await Promise.all([gunzip(m.wasm), gunzip(m.model)]);
  const model = fromBytePlanes(planes, m.model.raw);
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
