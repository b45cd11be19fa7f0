// latentlab live page: UI on the main thread, generation in a Web Worker (worker.js), nothing fetched.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const text = (id) => $(id).textContent.trim();
  const packed = (id) => ({text: $(id).textContent, bytes: +$(id).dataset.bytes});   // 7-bit text: no trim
  const meta = JSON.parse(text("ll-meta"));
  const content = JSON.parse(text("ll-content"));
  const nz = meta.nz, size = meta.size, layerIndex = {};
  meta.layers.forEach((l, i) => { layerIndex[l.name] = i; });

  // ---------------------------------------------------------------- worker and requests
  const worker = new Worker(URL.createObjectURL(new Blob([text("ll-worker")], {type: "text/javascript"})));
  const pending = new Map();
  const frames = [];   // worker ms of the last 1000 frames (benchmarks read them)
  let nextId = 1, readyResolve, readyReject, lastMs = null, lastN = 0, ready = false;
  const readyPromise = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === "ready") { ready = true; status(`ready (model loaded in ${(m.ms / 1000).toFixed(2)} s)`); readyResolve(m.ms); return; }
    const p = pending.get(m.id);
    if (m.type === "error") {
      if (p) { pending.delete(m.id); p.reject(new Error(m.message)); } else { status("error: " + m.message); readyReject(new Error(m.message)); }
      return;
    }
    pending.delete(m.id);
    lastMs = m.ms; lastN = m.n;
    frames.push(m.ms); if (frames.length > 1000) frames.shift();
    status(`last frame: ${m.n} image${m.n > 1 ? "s" : ""} in ${m.ms.toFixed(1)} ms (${(m.ms / m.n).toFixed(1)} ms per image)`);
    p.resolve({rgb: m.rgb, n: m.n, ms: m.ms});
  };
  worker.onerror = (e) => { status("worker error: " + e.message); readyReject(new Error(e.message)); };
  worker.postMessage({type: "init", ort: text("ll-ort"), wasm: packed("ll-wasm"), model: {...packed("ll-model"), raw: +$("ll-model").dataset.raw}, meta});

  // zs: array of N arrays of nz numbers; keeps: per layer an array of N keep vectors (null: keep all);
  // regions: N arrays of size*size (null: everywhere); cls: class per image (conditional models)
  function run(zs, keeps, regions, cls) {
    const n = zs.length, z = new Float32Array(n * nz);
    zs.forEach((v, i) => z.set(v, i * nz));
    const region = new Float32Array(n * size * size);
    for (let i = 0; i < n; i++) {
      if (regions && regions[i]) region.set(regions[i], i * size * size); else region.fill(1, i * size * size, (i + 1) * size * size);
    }
    const ks = meta.layers.map((l, li) => {
      const k = new Float32Array(n * l.maps).fill(1);
      if (keeps && keeps[li]) keeps[li].forEach((v, i) => { if (v) k.set(v, i * l.maps); });
      return k;
    });
    const c = meta.num_classes > 0 ? Int32Array.from(cls || zs.map(() => classNow())) : null;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, {resolve, reject});
      worker.postMessage({type: "run", id, n, z, c, region, keeps: ks}, [z.buffer, region.buffer, ...ks.map((k) => k.buffer)]);
    });
  }

  // latest wins: while one request of a channel runs, newer ones replace each other; the UI never queues up
  function channel(draw) {
    let busy = false, next = null;
    const go = async () => {
      if (busy || !next) return;
      const job = next; next = null; busy = true;
      try { draw(await job(), job); } catch (err) { status("error: " + err.message); }
      busy = false; go();
    };
    return (job) => { next = job; if (ready) go(); else readyPromise.then(go); };
  }

  // ---------------------------------------------------------------- test hook
  function dropKeeps(drop, n) {
    if (drop === undefined || drop === null) drop = {};
    if (typeof drop !== "object" || Array.isArray(drop)) throw new TypeError("drop: expected an object {layer: [map indices]}");
    const keeps = meta.layers.map(() => null);
    for (const [name, maps] of Object.entries(drop)) {
      if (!(name in layerIndex)) throw new RangeError(`drop: unknown layer ${JSON.stringify(name)}; layers are ${Object.keys(layerIndex).join(", ")}`);
      const l = meta.layers[layerIndex[name]], k = new Float32Array(l.maps).fill(1);
      for (const i of maps) {
        if (!Number.isInteger(i) || i < 0 || i >= l.maps) throw new RangeError(`drop: map ${i} of ${name} out of range 0..${l.maps - 1}`);
        k[i] = 0;
      }
      keeps[layerIndex[name]] = Array.from({length: n}, () => k);
    }
    return keeps;
  }

  async function generate(z, drop, cls) {
    if (!Array.isArray(z) || z.some((v) => !Array.isArray(v) && !ArrayBuffer.isView(v) || v.length !== nz)) {
      throw new TypeError(`z: expected an array of N arrays of ${nz} numbers`);
    }
    if (meta.num_classes > 0 && cls !== undefined) {   // AC-GAN: one class for all, or one per z
      cls = Array.isArray(cls) ? cls : z.map(() => cls);
      if (cls.length !== z.length || cls.some((c) => !Number.isInteger(c) || c < 0 || c >= meta.num_classes)) {
        throw new RangeError(`c: expected ${z.length} class indices in 0..${meta.num_classes - 1}`);
      }
    }
    await readyPromise;
    const r = await run(z, dropKeeps(drop, z.length), null, cls);
    return Array.from(r.rgb);
  }

  // ---------------------------------------------------------------- maths on z
  function mulberry32(seed) {
    return () => { seed |= 0; seed = seed + 0x6D2B79F5 | 0; let t = Math.imul(seed ^ seed >>> 15, 1 | seed);
      t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t; return ((t ^ t >>> 14) >>> 0) / 4294967296; };
  }
  let rng = mulberry32(content.seed + 12345);
  function drawZ() {
    const v = new Array(nz);
    for (let i = 0; i < nz; i++) {
      if (meta.prior === "uniform") v[i] = 2 * rng() - 1;
      else { const u = Math.max(rng(), 1e-12), w = rng(); v[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w); }
    }
    return v;
  }
  const add = (a, b, s = 1) => a.map((x, i) => x + s * b[i]);
  const norm = (a) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
  function lerp(a, b, t) { return a.map((x, i) => (1 - t) * x + t * b[i]); }
  function slerp(a, b, t) {   // latentlab.latent.slerp: unnormalised vectors, lerp when (anti)parallel
    const na = norm(a), nb = norm(b);
    if (na === 0 || nb === 0) return lerp(a, b, t);
    const cos = Math.max(-1, Math.min(1, a.reduce((s, x, i) => s + x * b[i], 0) / (na * nb)));
    if (Math.abs(cos) > 1 - 1e-6) return lerp(a, b, t);
    const om = Math.acos(cos), so = Math.sin(om);
    return a.map((x, i) => Math.sin((1 - t) * om) / so * x + Math.sin(t * om) / so * b[i]);
  }
  const clip = (v) => meta.prior === "uniform" ? v.map((x) => Math.max(-1, Math.min(1, x))) : v;

  // ---------------------------------------------------------------- drawing
  const img = new ImageData(size, size), px = new Uint32Array(img.data.buffer);   // reused: RGBA, little-endian
  function paint(canvas, rgb, i) {
    for (let p = 0, q = i * size * size * 3; p < px.length; p++, q += 3) {
      px[p] = 0xFF000000 | (rgb[q + 2] << 16) | (rgb[q + 1] << 8) | rgb[q];
    }
    canvas.getContext("2d").putImageData(img, 0, 0);
  }
  function canvas(cls) {
    const c = document.createElement("canvas");
    c.width = c.height = size; c.className = cls;
    return c;
  }
  function status(s) { $("ll-status").textContent = s; }

  // ---------------------------------------------------------------- state
  const state = {
    samples: content.samples.map((v) => v.slice()), a: 0, b: 1, t: 0, method: "slerp", alphas: content.directions.map(() => 0),
    layer: content.default_layer, k: 0, toggled: meta.layers.map(() => new Set()), region: null, brush: 4,
    terms: [], mode: "a", cls: 0,
  };
  const classNow = () => state.cls;
  function ranking(li) {
    const r = content.rankings[meta.layers[li].name];
    return r ? r.order : Array.from({length: meta.layers[li].maps}, (_, i) => i);
  }
  function dropped(li) {   // the set of dropped maps of layer li: the top k of the ranking XOR single toggles
    const s = new Set(), t = state.toggled[li];
    if (meta.layers[li].name === state.layer) ranking(li).slice(0, state.k).forEach((m) => s.add(m));
    t.forEach((m) => { if (s.has(m)) s.delete(m); else s.add(m); });
    return s;
  }
  function afterKeeps() {
    return meta.layers.map((l, li) => {
      const d = dropped(li);
      if (d.size === 0) return null;
      const k = new Float32Array(l.maps).fill(1);
      d.forEach((m) => { k[m] = 0; });
      return [null, k];
    });
  }
  function currentZ() {
    let z = (state.method === "slerp" ? slerp : lerp)(state.samples[state.a], state.samples[state.b], state.t);
    content.directions.forEach((d, i) => { if (state.alphas[i]) z = add(z, d.vector, state.alphas[i]); });
    return clip(z);
  }

  // ---------------------------------------------------------------- views
  const grid = [], before = canvas("ll-big"), after = canvas("ll-big"), overlay = canvas("ll-big ll-overlay");
  const cells = Array.from({length: 9}, () => canvas("ll-cell"));
  const drawSamples = channel((r) => grid.forEach((c, i) => paint(c, r.rgb, i)));
  const drawEdit = channel((r) => { paint(before, r.rgb, 0); paint(after, r.rgb, 1); });
  const drawArith = channel((r) => cells.forEach((c, i) => paint(c, r.rgb, i)));

  function updateSamples() { drawSamples(() => run(state.samples, null, null)); }
  function updateEdit() {
    const z = currentZ();
    drawEdit(() => run([z, z], afterKeeps(), [null, state.region]));
    $("ll-ab").textContent = `A = sample ${state.a + 1}, B = sample ${state.b + 1}`;
    const d = dropped(layerIndex[state.layer]);
    const key = `${state.layer} ${state.k} ${!!state.region} ${[...d].join(",")}`;
    if (key === shownDrop) return;   // walk and direction moves: only the images change, not the map buttons
    shownDrop = key;
    $("ll-kval").textContent = `${state.k} ranked, ${d.size} dropped in ${state.layer}` + (state.region ? " (inside the painted area)" : " (everywhere)");
    document.querySelectorAll(".ll-map").forEach((b) => b.classList.toggle("off", d.has(+b.dataset.map)));
  }
  let shownDrop = null;
  function updateArith() {
    if (state.terms.length === 0) { $("ll-expr").textContent = "click samples to build an expression"; return; }
    $("ll-expr").textContent = state.terms.map((t, i) => (t.sign < 0 ? "− " : i ? "+ " : "") + `sample ${t.i + 1}`).join(" ");
    let y = new Array(nz).fill(0);
    state.terms.forEach((t) => { y = add(y, state.samples[t.i], t.sign); });
    const r = mulberry32(content.seed + 777), zs = [];
    for (let j = 0; j < 9; j++) zs.push(clip(j === 4 ? y : y.map((x) => x + 0.5 * r() - 0.25)));   // DCGAN Fig. 7: ±0.25
    drawArith(() => run(zs, null, null));
  }

  function buildSamples() {
    const box = $("ll-samples");
    box.textContent = "";
    state.samples.forEach((_, i) => {
      const c = canvas("ll-thumb");
      c.title = `sample ${i + 1}`;
      c.addEventListener("click", () => pick(i));
      grid.push(c); box.appendChild(c);
    });
  }
  function pick(i) {
    const m = state.mode;
    if (m === "a") state.a = i; else if (m === "b") state.b = i;
    else { state.terms.push({i, sign: m === "minus" ? -1 : 1}); updateArith(); return; }
    updateEdit();
  }

  function buildControls() {
    $("ll-t").addEventListener("input", (e) => { state.t = +e.target.value; updateEdit(); });
    document.querySelectorAll("input[name=ll-method]").forEach((r) => r.addEventListener("change", (e) => { state.method = e.target.value; updateEdit(); }));
    document.querySelectorAll("input[name=ll-mode]").forEach((r) => r.addEventListener("change", (e) => { state.mode = e.target.value; }));
    const dirs = $("ll-dirs");
    content.directions.forEach((d, i) => {
      const row = document.createElement("label"), s = document.createElement("input"), v = document.createElement("span");
      s.type = "range"; s.min = -d.range; s.max = d.range; s.step = d.range / 50; s.value = 0; s.className = "ll-dir";
      row.append(d.name + " ", s, v);
      s.addEventListener("input", () => { state.alphas[i] = +s.value; v.textContent = (+s.value).toFixed(1); updateEdit(); });
      dirs.appendChild(row);
    });
    const sel = $("ll-layer");
    meta.layers.forEach((l) => { const o = document.createElement("option"); o.value = o.textContent = l.name; sel.appendChild(o); });
    sel.value = state.layer;
    sel.addEventListener("change", () => { state.layer = sel.value; state.k = 0; $("ll-k").value = 0; buildMaps(); shownDrop = null; updateEdit(); });
    $("ll-k").addEventListener("input", (e) => { state.k = +e.target.value; updateEdit(); });
    $("ll-new").addEventListener("click", () => { state.samples = state.samples.map(drawZ); updateSamples(); updateEdit(); updateArith(); });
    $("ll-clear-terms").addEventListener("click", () => { state.terms = []; cells.forEach((c) => c.getContext("2d").clearRect(0, 0, size, size)); updateArith(); });
    $("ll-clear-paint").addEventListener("click", () => { state.region = null; drawOverlay(); updateEdit(); });
    $("ll-brush").addEventListener("input", (e) => { state.brush = +e.target.value; });
    if (meta.num_classes > 0) {
      const cs = $("ll-class");
      meta.class_names.forEach((n, i) => { const o = document.createElement("option"); o.value = i; o.textContent = n || String(i); cs.appendChild(o); });
      cs.addEventListener("change", () => { state.cls = +cs.value; updateSamples(); updateEdit(); updateArith(); });
    } else $("ll-class-row").hidden = true;
    buildPainting();
  }

  function buildMaps() {
    const li = layerIndex[state.layer], box = $("ll-maps"), r = content.rankings[state.layer];
    $("ll-k").max = meta.layers[li].maps;
    $("ll-rank-note").textContent = r ? r.note : "maps in index order (no probe ranking for this layer)";
    box.textContent = "";
    ranking(li).forEach((m) => {
      const b = document.createElement("button");
      b.className = "ll-map"; b.dataset.map = m; b.textContent = m; b.title = `map ${m} of ${state.layer}: click to drop / keep`;
      b.addEventListener("click", () => { const t = state.toggled[li]; if (t.has(m)) t.delete(m); else t.add(m); updateEdit(); });
      box.appendChild(b);
    });
  }

  function drawOverlay() {
    const ctx = overlay.getContext("2d"), img = ctx.createImageData(size, size);
    // the painted area's outline only, so the edit underneath stays visible
    const r = state.region, on = (x, y) => x >= 0 && y >= 0 && x < size && y < size && r[y * size + x] > 0;
    if (r) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      if (on(x, y) && !(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1))) {
        const p = 4 * (y * size + x); img.data[p] = 255; img.data[p + 1] = 220; img.data[p + 3] = 200;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function buildPainting() {
    let down = false;
    const at = (e) => {
      const r = overlay.getBoundingClientRect(), x = (e.clientX - r.left) / r.width * size, y = (e.clientY - r.top) / r.height * size;
      if (!state.region) state.region = new Float32Array(size * size);
      const rad = state.brush * size / 64;
      for (let py = Math.max(0, Math.floor(y - rad)); py < Math.min(size, Math.ceil(y + rad)); py++) {
        for (let px = Math.max(0, Math.floor(x - rad)); px < Math.min(size, Math.ceil(x + rad)); px++) {
          if ((px + 0.5 - x) ** 2 + (py + 0.5 - y) ** 2 <= rad * rad) state.region[py * size + px] = 1;
        }
      }
      drawOverlay(); updateEdit();
    };
    overlay.addEventListener("pointerdown", (e) => { down = true; overlay.setPointerCapture(e.pointerId); at(e); });
    overlay.addEventListener("pointermove", (e) => { if (down) at(e); });
    overlay.addEventListener("pointerup", () => { down = false; });
  }

  function mount() {
    $("ll-before").appendChild(before);
    const wrap = $("ll-after");
    wrap.appendChild(after); wrap.appendChild(overlay);
    cells.forEach((c) => $("ll-grid").appendChild(c));
    buildSamples(); buildControls(); buildMaps();
    updateSamples(); updateEdit(); updateArith();
  }

  window.latentlab = {meta, content, ready: readyPromise, generate, get lastMs() { return lastMs; }, get lastN() { return lastN; }, frames, state};
  mount();
})();
