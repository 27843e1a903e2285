// The live explorer: the three 2-D models of part 1 in the browser, on the
// weights figures/explorer.py exported. For a digit drawn on the pad, or a test
// digit picked on the map, it shows the true posterior p(z|x) next to the
// encoder's q(z|x), with log p(x), the ELBO, its two terms and the gap. The
// grid integration runs in a Web Worker (explorer-worker.js); this script
// draws, listens and reports. Plain JavaScript, nothing from another host.
//
// Markup: <div class="vae-explorer" data-index="URL of explorer.json"></div>;
// explorer.js loads this script where the markup is.
// For tests and the curious, window.vaeExplorer: ready, select(name),
// pick(index), analyze(x, name), decode(z), load(name), last, timings.
(function () {
  "use strict";

  const root = document.querySelector(".vae-explorer");
  if (!root) return;
  const scriptUrl = document.currentScript.src;

  const CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const POSTERIOR = "#1a237e";  // p(z|x): shading and contours
  const Q = "#bf360c";  // q(z|x)
  const CROSS = "#b71c1c";
  const SAMPLES = 32;  // codes drawn by the sampling button
  const SAMPLE_IMAGES = 6;  // of which decoded

  const STYLE = `
.vae-explorer { display: block; }
.vae-explorer .vx-models { border: 1px solid var(--md-default-fg-color--lighter); border-radius: 4px;
  margin: 0 0 .8rem; padding: .3rem .8rem .5rem; min-width: 0; }
.vae-explorer .vx-models legend { padding: 0 .3rem; font-weight: 700; }
.vae-explorer .vx-models label { display: inline-block; margin: .2rem 1.2rem .2rem 0; }
.vae-explorer .vx-cost { color: var(--md-default-fg-color--light); }
.vae-explorer .vx-row { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-start; }
.vae-explorer figure { margin: 0 0 .6rem; max-width: 100%; }
.vae-explorer figcaption { font-size: .64rem; max-width: 24em; margin: .2rem 0 0; text-align: left;
  color: var(--md-default-fg-color--light); }
.vae-explorer canvas { display: block; max-width: 100%; height: auto; background: #fff;
  border: 1px solid var(--md-default-fg-color--lighter); touch-action: none; }
.vae-explorer canvas.vx-pixels { image-rendering: pixelated; }
.vae-explorer canvas:focus-visible { outline: 3px solid var(--md-accent-fg-color); outline-offset: 1px; }
.vae-explorer .vx-small { display: flex; flex-wrap: wrap; gap: .6rem; }
.vae-explorer .vx-buttons { display: flex; flex-wrap: wrap; gap: .4rem; margin: .3rem 0; }
.vae-explorer button { font: inherit; font-size: .7rem; font-weight: 700; padding: .35em 1em;
  color: var(--md-default-fg-color); background: transparent; cursor: pointer;
  border: 2px solid var(--md-default-fg-color--light); border-radius: .2rem; }
.vae-explorer button:hover:not(:disabled) { border-color: var(--md-accent-fg-color); }
.vae-explorer button:disabled { cursor: not-allowed; color: var(--md-default-fg-color--light);
  border-style: dashed; }
.vae-explorer button:focus-visible, .vae-explorer input:focus-visible {
  outline: 3px solid var(--md-accent-fg-color); outline-offset: 2px; }
.vae-explorer .vx-status { min-height: 1.5em; margin: .2rem 0; font-size: .7rem; }
.vae-explorer .vx-spinner { display: inline-block; width: .8em; height: .8em; margin-right: .4em;
  vertical-align: -.1em; border: 2px solid currentColor; border-right-color: transparent;
  border-radius: 50%; animation: vx-spin .8s linear infinite; }
.vae-explorer .vx-spinner[hidden] { display: none; }
@media (prefers-reduced-motion: reduce) { .vae-explorer .vx-spinner { animation: none; } }
@keyframes vx-spin { to { transform: rotate(360deg); } }
.vae-explorer .vx-readout { margin: .4rem 0; }
.vae-explorer .vx-readout p { margin: 0 0 .3rem; }
.vae-explorer .vx-readout dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(11rem, 100%), 1fr));
  gap: .3rem .8rem; margin: 0; }
.vae-explorer .vx-readout dl div { min-width: 0; }
.vae-explorer .vx-readout dt { font-size: .64rem; color: var(--md-default-fg-color--light); }
.vae-explorer .vx-readout dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 700;
  overflow-wrap: anywhere; }
.vae-explorer .vx-details { font-size: .64rem; overflow-wrap: anywhere; }
.vae-explorer .vx-samples { display: flex; flex-wrap: wrap; gap: .3rem; }
`;

  // -- numbers as the page prints them -------------------------------------
  const MINUS = "\u2212";
  const fmt = (v, digits = 2) => (v < 0 ? MINUS : "") + Math.abs(v).toFixed(digits);
  const pair = (p, digits = 2) => `(${fmt(p[0], digits)}, ${fmt(p[1], digits)})`;
  const count = (n) => n.toLocaleString("en-US");
  const megabytes = (bytes) => (bytes / 1e6).toFixed(2) + " MB";

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load " + url));
      document.head.appendChild(script);
    });
  }

  async function fetchOk(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response;
  }

  // -- the worker, behind promises -----------------------------------------
  let worker = null;
  let nextId = 1;
  const waiting = new Map();
  function call(message, transfer) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage(Object.assign({ id: id }, message), transfer || []);
    });
  }
  function onWorkerMessage(event) {
    const m = event.data;
    const promise = waiting.get(m.id);
    if (!promise) return;
    waiting.delete(m.id);
    if (m.type === "error") promise.reject(new Error(m.message));
    else promise.resolve(m.type === "result" ? m.result : m);
  }

  // -- state ---------------------------------------------------------------
  const indexUrl = new URL(root.dataset.index, document.baseURI);
  let index = null;  // explorer.json
  const models = {};  // name -> {entry, spec, decoder, ready, encoderReady}
  let digits = null;  // Uint8Array (count * pixels) of 0/1
  let side = 28;
  let current = null;  // the chosen model's name
  let x = null;  // the image analysed: Uint8Array of 0/1, or null
  let source = null;  // {digit: index} or {drawing: true, from: index or null}
  let z = [0, 0];  // the cross
  let result = null;  // the latest analysis of x by the current model
  let samples = null;  // {name, z: [[z0, z1], ...]}
  let busy = false;
  let pending = false;
  const timings = [];
  const ui = {};

  function loadModel(name) {
    const m = models[name];
    if (!m.ready) {
      m.ready = (async () => {
        m.spec = await (await fetchOk(new URL(m.entry.file, indexUrl))).json();
        const part = m.spec.parts.decoder;
        const buffer = await (await fetchOk(new URL(part.file, indexUrl))).arrayBuffer();
        m.decoder = new VaeNets.Decoder(VaeNets.readPart(buffer, part));
        const loaded = await call({ type: "decoder", name: name, spec: m.spec, buffer: buffer }, [buffer]);
        m.prepareMs = loaded.ms;
        return m;
      })();
    }
    return m.ready;
  }

  function loadEncoder(name) {
    const m = models[name];
    if (!m.encoderReady) {
      m.encoderReady = loadModel(name).then(async () => {
        const part = m.spec.parts.encoder;
        const buffer = await (await fetchOk(new URL(part.file, indexUrl))).arrayBuffer();
        await call({ type: "encoder", name: name, spec: m.spec, buffer: buffer }, [buffer]);
        return m;
      });
    }
    return m.encoderReady;
  }

  async function loadDigits() {
    const bytes = new Uint8Array(await (await fetchOk(new URL(index.digits.file, indexUrl))).arrayBuffer());
    const pixels = side * side;
    const out = new Uint8Array(index.digits.count * pixels);
    const rowBytes = pixels / 8;
    for (let d = 0; d < index.digits.count; d++) {
      for (let i = 0; i < pixels; i++) {
        out[d * pixels + i] = (bytes[d * rowBytes + (i >> 3)] >> (7 - (i & 7))) & 1;
      }
    }
    return out;
  }

  // -- the page's elements -------------------------------------------------
  function build() {
    const style = document.createElement("style");
    style.textContent = STYLE;
    document.head.appendChild(style);
    const radios = index.models.map((entry) => {
      const size = entry.bytes.decoder + entry.bytes.encoder;
      const note = entry.name === index.default ? "decoder loads with the page" : "loads when chosen";
      return `<label><input type="radio" name="vx-model" value="${entry.name}">
        ${entry.label} <span class="vx-cost">(${entry.name}, ${megabytes(size)}; ${note})</span></label>`;
    }).join("");
    root.innerHTML = `
      <fieldset class="vx-models"><legend>Model</legend>${radios}</fieldset>
      <div class="vx-row">
        <figure>
          <canvas class="vx-map" width="360" height="360" tabindex="0" role="application"
            aria-roledescription="code map" aria-label="Code space map" aria-describedby="vx-map-caption"></canvas>
          <figcaption id="vx-map-caption">The code space. Dots: the test digits at their codes, coloured by
            class. Point at it, or focus it and use the arrow keys (Shift: faster), to move the cross <em>z</em>;
            click a dot, or press Enter, to pick the test digit nearest the cross.</figcaption>
        </figure>
        <figure>
          <canvas class="vx-closeup" width="260" height="260" role="img" aria-describedby="vx-closeup-caption"
            aria-label="Close-up of the posterior"></canvas>
          <figcaption id="vx-closeup-caption"></figcaption>
        </figure>
      </div>
      <div class="vx-row">
        <figure>
          <canvas class="vx-pad" width="168" height="168" role="img"
            aria-label="Drawing pad: draw a digit with the pointer or a finger"></canvas>
          <div class="vx-buttons">
            <button type="button" class="vx-clear">Clear the pad</button>
          </div>
          <figcaption>Draw a digit here.</figcaption>
        </figure>
        <div class="vx-small">
          <figure>
            <canvas class="vx-seen vx-pixels" width="28" height="28" style="width: 84px" role="img"
              aria-label="The image the model reads"></canvas>
            <figcaption>What the model reads:<br>pixels over half inked</figcaption>
          </figure>
          <figure>
            <canvas class="vx-digit vx-pixels" width="28" height="28" style="width: 84px" role="img"
              aria-label="The digit decoded from the cross"></canvas>
            <figcaption>Decoded from<br>the cross <em>z</em></figcaption>
          </figure>
        </div>
      </div>
      <p class="vx-status"><span class="vx-spinner" aria-hidden="true"></span><span class="vx-status-text"></span></p>
      <div class="vx-readout" aria-live="polite" aria-atomic="true"></div>
      <p class="vx-details"></p>
      <div class="vx-buttons">
        <button type="button" class="vx-sample">Draw ${SAMPLES} codes z ~ q(z | x)</button>
      </div>
      <div class="vx-samples" aria-live="off"></div>`;
    for (const name of ["map", "closeup", "pad", "seen", "digit", "status", "readout", "details", "samples"]) {
      ui[name] = root.querySelector(".vx-" + name);
    }
    ui.statusText = root.querySelector(".vx-status-text");
    ui.spinner = root.querySelector(".vx-spinner");
    ui.clear = root.querySelector(".vx-clear");
    ui.sample = root.querySelector(".vx-sample");
    ui.closeupCaption = root.querySelector("#vx-closeup-caption");
    ui.radios = Array.from(root.querySelectorAll("input[name=vx-model]"));
  }

  function setStatus(text, spinning) {
    ui.statusText.textContent = text;
    ui.spinner.hidden = !spinning;
    root.dataset.busy = spinning ? "true" : "false";
  }

  // -- geometry --------------------------------------------------------------
  function mapBox() {
    const points = models[current].spec.points;
    const pad = 0.5;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of points) {
      x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
      y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    }
    // Square, so that circles stay circles.
    const half = Math.max(x1 - x0, y1 - y0) / 2 + pad;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
  }

  function view(canvas, box) {
    const sx = canvas.width / (box.x1 - box.x0);
    const sy = canvas.height / (box.y1 - box.y0);
    return {
      box: box,
      sx: sx,
      sy: sy,
      to: (p) => [(p[0] - box.x0) * sx, (box.y1 - p[1]) * sy],
      from: (cx, cy) => [box.x0 + cx / sx, box.y1 - cy / sy],
    };
  }

  function canvasPoint(event, canvas) {
    const r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) / r.width * canvas.width,
            (event.clientY - r.top) / r.height * canvas.height];
  }

  // The square around what the close-up shows: the posterior's 99 % contour,
  // q's two-sigma ellipse and the mode.
  function closeupBox() {
    const xs = [], ys = [];
    const add = (a, b) => { xs.push(a); ys.push(b); };
    if (result && result.posterior) {
      const outer = result.posterior.contours[result.posterior.contours.length - 1];
      for (let i = 0; i < outer.length; i += 2) add(outer[i], outer[i + 1]);
      add(...result.posterior.mode);
    }
    if (result && result.mu) {
      const s = result.logvar ? result.logvar.map((v) => 2 * Math.exp(0.5 * v)) : [0, 0];
      add(result.mu[0] - s[0], result.mu[1] - s[1]);
      add(result.mu[0] + s[0], result.mu[1] + s[1]);
    }
    if (!xs.length) return null;
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    // The autoencoder's point gets its neighbourhood.
    const least = result && result.posterior ? 0.4 : 2;
    const half = Math.max(x1 - x0, y1 - y0, least) / 2 * 1.15;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
  }

  // -- drawing ---------------------------------------------------------------
  function drawImage(canvas, pixels, gray) {
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const ink = Math.round(255 * (1 - (gray ? pixels[i] : pixels[i] ? 1 : 0)));
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = ink;
      image.data[4 * i + 3] = 255;
    }
    if (canvas.width === side) {
      ctx.putImageData(image, 0, 0);
      return;
    }
    const scratch = document.createElement("canvas");
    scratch.width = scratch.height = side;
    scratch.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  function drawPosterior(ctx, v, shade) {
    const post = result && result.posterior;
    if (!post) return;
    if (shade) {
      // The density relative to the mode, as the opacity of the posterior's colour.
      const { nx, ny, values, z0, z1, step } = post.raster;
      const scratch = document.createElement("canvas");
      scratch.width = nx;
      scratch.height = ny;
      const sctx = scratch.getContext("2d");
      const image = sctx.createImageData(nx, ny);
      for (let row = 0; row < ny; row++) {
        for (let col = 0; col < nx; col++) {
          const o = 4 * ((ny - 1 - row) * nx + col);
          image.data[o] = 0x1a; image.data[o + 1] = 0x23; image.data[o + 2] = 0x7e;
          image.data[o + 3] = Math.round(150 * Math.exp(values[row * nx + col]));
        }
      }
      sctx.putImageData(image, 0, 0);
      const [left, top] = v.to([z0 - step / 2, z1 + (ny - 0.5) * step]);
      const [right, bottom] = v.to([z0 + (nx - 0.5) * step, z1 - step / 2]);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(scratch, left, top, right - left, bottom - top);
    }
    ctx.strokeStyle = POSTERIOR;
    post.contours.forEach((segments, k) => {
      ctx.lineWidth = shade ? 2 - 0.5 * k : 1.2;
      ctx.beginPath();
      for (let i = 0; i < segments.length; i += 4) {
        const a = v.to([segments[i], segments[i + 1]]);
        const b = v.to([segments[i + 2], segments[i + 3]]);
        ctx.moveTo(a[0], a[1]);
        ctx.lineTo(b[0], b[1]);
      }
      ctx.stroke();
    });
  }

  function drawQ(ctx, v, sigmas) {
    if (!result || !result.mu) return;
    const [cx, cy] = v.to(result.mu);
    ctx.strokeStyle = Q;
    ctx.fillStyle = Q;
    if (result.logvar) {
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 3]);
      for (const k of sigmas) {
        const rx = k * Math.exp(0.5 * result.logvar[0]) * v.sx;
        const ry = k * Math.exp(0.5 * result.logvar[1]) * v.sy;
        ctx.beginPath();
        ctx.ellipse(cx, cy, Math.max(rx, 1), Math.max(ry, 1), 0, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    // The mean of q (the autoencoder's code): a cross turned 45 degrees.
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(cx - 5, cy - 5); ctx.lineTo(cx + 5, cy + 5);
    ctx.moveTo(cx - 5, cy + 5); ctx.lineTo(cx + 5, cy - 5);
    ctx.stroke();
  }

  function drawMarkers(ctx, v) {
    if (samples && samples.name === current) {
      ctx.fillStyle = "#000";
      for (const s of samples.z) {
        const [sx, sy] = v.to(s);
        ctx.beginPath();
        ctx.arc(sx, sy, 2.2, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    if (result && result.posterior) {
      const [mx, my] = v.to(result.posterior.mode);
      ctx.strokeStyle = POSTERIOR;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(mx - 6, my); ctx.lineTo(mx + 6, my);
      ctx.moveTo(mx, my - 6); ctx.lineTo(mx, my + 6);
      ctx.stroke();
    }
  }

  function drawCross(ctx, v) {
    const [cx, cy] = v.to(z);
    ctx.strokeStyle = CROSS;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(cx - 9, cy); ctx.lineTo(cx - 3, cy);
    ctx.moveTo(cx + 3, cy); ctx.lineTo(cx + 9, cy);
    ctx.moveTo(cx, cy - 9); ctx.lineTo(cx, cy - 3);
    ctx.moveTo(cx, cy + 3); ctx.lineTo(cx, cy + 9);
    ctx.stroke();
  }

  // The test digits at their codes, coloured by class.
  function drawPoints(ctx, v, alpha) {
    const labels = index.labels;
    ctx.globalAlpha = alpha;
    models[current].spec.points.forEach((p, i) => {
      const [cx, cy] = v.to(p);
      ctx.fillStyle = CLASS_COLORS[labels[i] % 10];
      ctx.fillRect(cx - 1.5, cy - 1.5, 3, 3);
    });
    ctx.globalAlpha = 1;
  }

  function renderMap() {
    const m = models[current];
    const v = view(ui.map, mapBox());
    const ctx = ui.map.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, ui.map.width, ui.map.height);
    drawPoints(ctx, v, result ? 0.55 : 1);
    if (source && source.digit !== undefined) {
      const [cx, cy] = v.to(m.spec.points[source.digit]);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(cx, cy, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
    drawPosterior(ctx, v, false);
    drawQ(ctx, v, [1]);
    drawMarkers(ctx, v);
    const box = closeupBox();
    if (box) {
      const [left, top] = v.to([box.x0, box.y1]);
      const [right, bottom] = v.to([box.x1, box.y0]);
      ctx.strokeStyle = "#555";
      ctx.lineWidth = 1;
      ctx.strokeRect(left, top, right - left, bottom - top);
    }
    drawCross(ctx, v);
    ui.mapView = v;
    ui.map.setAttribute("aria-label", `Code space map of the ${m.entry.label.toLowerCase()}; ` +
      `the cross is at z = ${pair(z)}`);
  }

  function renderCloseup() {
    const ctx = ui.closeup.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, ui.closeup.width, ui.closeup.height);
    const box = closeupBox();
    const m = models[current];
    if (!box) {
      ui.closeupCaption.textContent = "Close-up: draw a digit, or pick a test digit on the map, to see " +
        (m.spec.kind === "ae" ? "its code." : "its posterior p(z | x) and the encoder's q(z | x).");
      ui.closeup.setAttribute("aria-label", "Close-up, empty until a digit is drawn or picked");
      return;
    }
    const v = view(ui.closeup, box);
    drawPoints(ctx, v, 0.35);
    drawPosterior(ctx, v, true);
    drawQ(ctx, v, [1, 2]);
    drawMarkers(ctx, v);
    drawCross(ctx, v);
    const extent = `z\u2081 from ${fmt(box.x0)} to ${fmt(box.x1)}, z\u2082 from ${fmt(box.y0)} to ${fmt(box.y1)}`;
    let caption;
    if (m.spec.kind === "ae") {
      caption = `Close-up (${extent}). The autoencoder maps x to one code, the slanted cross at ` +
        `${pair(result.mu)}: a point, not a distribution, so there is no posterior to draw.`;
    } else {
      const masses = index.contour_masses.map((p) => Math.round(100 * p)).join(", ");
      caption = `Close-up (${extent}). Shaded: the true posterior p(z | x); solid lines enclose ` +
        `${masses} % of it; upright cross: its mode. Dashed: the encoder's q(z | x) at one and two ` +
        `standard deviations; slanted cross: its mean. Faint dots: test digits.` +
        (samples && samples.name === current ? " Dots: codes drawn from q." : "");
    }
    ui.closeupCaption.textContent = caption;
    ui.closeup.setAttribute("aria-label", m.spec.kind === "ae"
      ? "Close-up of the autoencoder's code" : "Close-up of the true posterior and of q(z | x)");
  }

  function renderDigit() {
    drawImage(ui.digit, models[current].decoder.mean(z), true);
    root.dataset.z = z.join(",");
  }

  function renderSeen() {
    const ctx = ui.seen.getContext("2d");
    if (!x) {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, side, side);
      return;
    }
    drawImage(ui.seen, x, false);
  }

  function describeSource() {
    if (!source) return "";
    if (source.digit !== undefined) {
      return `test digit ${source.digit + 1} of ${index.digits.count} (a ${index.class_names[index.labels[source.digit]]})`;
    }
    return source.from !== null && source.from !== undefined
      ? `your drawing over test digit ${source.from + 1}` : "your drawing";
  }

  function renderReadout() {
    const m = models[current];
    const name = m.entry.label;
    if (!x || !result) {
      ui.readout.innerHTML = `<p>${name}: draw a digit on the pad, or pick a test digit on the map, ` +
        `to see ${m.spec.kind === "ae" ? "its code and reconstruction" : "log p(x), the ELBO and the gap"}.</p>`;
      ui.details.textContent = "";
      return;
    }
    const inked = x.reduce((a, b) => a + b, 0);
    const rows = [];
    const row = (key, term, value, text) =>
      rows.push(`<div><dt>${term}</dt><dd data-key="${key}"${value === null ? "" : ` data-value="${value}"`}>${text}</dd></div>`);
    if (m.spec.kind === "ae") {
      row("reconstruction", "reconstruction log p(x | z = \u03bc(x))", result.reconstruction,
        `${fmt(result.reconstruction)} nats`);
      row("logpx", "log p(x)", null, "does not apply: no prior p(z)");
      row("elbo", "ELBO, KL and gap", null, "do not apply: q(z | x) is a point");
    } else {
      row("logpx", "log p(x), from the grid", result.logpx, `${fmt(result.logpx)} nats`);
      row("elbo", "ELBO = reconstruction \u2212 KL", result.elbo, `${fmt(result.elbo)} nats`);
      row("reconstruction", "reconstruction E<sub>q</sub>[log p(x | z)]", result.reconstruction,
        `${fmt(result.reconstruction)} nats`);
      row("kl", "KL(q(z | x) \u2016 p(z))", result.kl, `${fmt(result.kl)} nats`);
      row("gap", "gap log p(x) \u2212 ELBO", result.gap, `${fmt(result.gap)} nats`);
    }
    ui.readout.innerHTML = `<p>${name}, ${describeSource()}, ${inked} pixels inked:</p><dl>${rows.join("")}</dl>`;

    const parts = [];
    if (result.logvar) {
      parts.push(`q(z | x): mean ${pair(result.mu)}, standard deviations ` +
        `${pair(result.logvar.map((v) => Math.exp(0.5 * v)), 3)}` +
        (m.spec.noise_sigma ? " (fixed)" : "") + "; the reconstruction term averages " +
        `log p(x | z) over ${index.elbo_eps.length} codes z = \u03bc + \u03c3\u03b5 for a fixed set of \u03b5.`);
    } else {
      parts.push(`The autoencoder's code: ${pair(result.mu)}.`);
    }
    const post = result.posterior;
    if (post) {
      const grid = index.grid;
      let text = `Mode of p(z | x): ${pair(post.mode, 3)}. Grid: ${count(Math.pow(2 * grid.extent / grid.step + 1, 2))} ` +
        `coarse cells ${grid.step} wide centred on [${MINUS}${grid.extent}, ${grid.extent}]\u00b2`;
      post.refined.forEach((r, k) => {
        text += `; ${count(r.cells)} of ${k ? "those" : "them"} cut into ${count(r.points)} cells ` +
          `${(grid.step / Math.pow(grid.refine, k + 1)).toFixed(3)} wide`;
      });
      text += post.refined.length ? "" : " (the posterior is wide enough for them)";
      text += `: ${count(post.points)} cells in all, ${count(post.computed)} of them new to the decoder; ` +
        `${Math.round(result.ms)} ms.`;
      parts.push(text);
    }
    ui.details.textContent = parts.join(" ");
  }

  function render() {
    if (!models[current].decoder) return;
    renderMap();
    renderCloseup();
    renderDigit();
    renderSeen();
    const m = models[current];
    ui.sample.disabled = !(result && result.logvar);
    ui.sample.title = m.spec.kind === "ae" ? "The autoencoder's q(z | x) is a point" : "";
  }

  // -- analysis ----------------------------------------------------------------
  function analyze(image, name) {
    const started = performance.now();
    return loadEncoder(name).then(() => {
      const sent = performance.now();
      return call({ type: "analyze", name: name, x: image.slice() }).then((r) => {
        r.roundTripMs = performance.now() - sent;
        r.waitMs = sent - started;
        return r;
      });
    });
  }

  // Analyses x with the current model. While one analysis runs, further changes
  // wait, and only the latest is analysed next; the promise resolves with the
  // analysis of the image and model current when it settles.
  const waiters = [];
  let lifted = null;  // when the pen last left the pad, until the numbers catch up
  let penDown = false;

  // The numbers on show are those of the image on the pad: the time since the
  // pen left it is recorded with the analysis that caught up.
  function settled() {
    if (penDown) return;
    ui.readout.removeAttribute("aria-busy");
    if (lifted !== null && timings.length) timings[timings.length - 1].afterLiftMs = performance.now() - lifted;
    lifted = null;
  }

  function update() {
    const promise = new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    if (busy) {
      pending = true;
      return promise;
    }
    if (!x) {
      result = null;
      renderReadout();
      render();
      for (const w of waiters.splice(0)) w.resolve(null);
      return promise;
    }
    busy = true;
    pending = false;
    const name = current;
    const image = x;
    const m = models[name];
    const what = source && source.digit !== undefined ? "digit" : "drawing";
    setStatus(m.encoderReady ? "Computing\u2026" : `Loading the ${m.entry.label.toLowerCase()}'s ` +
      `encoder (${megabytes(m.entry.bytes.encoder)}) and computing\u2026`, true);
    analyze(image, name).then((r) => {
      timings.push({ model: name, what: what, ms: r.ms, roundTripMs: r.roundTripMs, waitMs: r.waitMs });
      busy = false;
      if (pending || name !== current || image !== x) {
        update();
        return;
      }
      result = r;
      window.vaeExplorer.last = plain(r);
      // The cross goes to the posterior's mode (the autoencoder's code), so that
      // the decoded digit is the model's best reading of the image.
      if (!penDown) z = (r.posterior ? r.posterior.mode : r.mu).slice();
      renderReadout();
      render();
      setStatus("", false);
      settled();
      for (const w of waiters.splice(0)) w.resolve(r);
    }, (error) => {
      busy = false;
      setStatus("The explorer failed: " + error.message, false);
      for (const w of waiters.splice(0)) w.reject(error);
    });
    return promise;
  }

  // -- the pad -----------------------------------------------------------------
  const strokeWidth = () => ui.pad.width / 12;

  function clearPad() {
    const ctx = ui.pad.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, ui.pad.width, ui.pad.height);
  }

  // The pad's image averaged over blocks of (168 / 28)^2 pixels, as the digits
  // were, then binarized at the ink threshold.
  function padImage() {
    const ctx = ui.pad.getContext("2d");
    const data = ctx.getImageData(0, 0, ui.pad.width, ui.pad.height).data;
    const block = ui.pad.width / side;
    const image = new Uint8Array(side * side);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        let ink = 0;
        for (let dy = 0; dy < block; dy++) {
          for (let dx = 0; dx < block; dx++) {
            ink += 1 - data[4 * ((r * block + dy) * ui.pad.width + c * block + dx)] / 255;
          }
        }
        image[r * side + c] = ink / (block * block) > index.ink_threshold ? 1 : 0;
      }
    }
    return image;
  }

  function setupPad() {
    const ctx = ui.pad.getContext("2d", { willReadFrequently: true });
    clearPad();
    let last = null;
    let queued = false;
    const refresh = () => {
      queued = false;
      const image = padImage();
      if (x && image.every((v, i) => v === x[i])) return;  // nothing the model reads changed
      x = image;
      renderSeen();
      update();
    };
    ui.pad.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      loadEncoder(current);
      penDown = true;
      ui.pad.setPointerCapture(event.pointerId);
      last = canvasPoint(event, ui.pad);
      if (!source || source.digit !== undefined) {
        source = { drawing: true, from: source ? source.digit : null };
      }
      ui.readout.setAttribute("aria-busy", "true");
      ctx.fillStyle = "#000";
      ctx.beginPath();
      ctx.arc(last[0], last[1], strokeWidth() / 2, 0, 2 * Math.PI);
      ctx.fill();
    });
    ui.pad.addEventListener("pointermove", (event) => {
      if (!penDown) return;
      const p = canvasPoint(event, ui.pad);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = strokeWidth();
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      last = p;
      if (!queued) {
        queued = true;
        requestAnimationFrame(refresh);
      }
    });
    const finish = () => {
      if (!penDown) return;
      penDown = false;
      lifted = performance.now();
      refresh();
      if (!busy) settled();
    };
    ui.pad.addEventListener("pointerup", finish);
    ui.pad.addEventListener("pointercancel", finish);
    ui.clear.addEventListener("click", () => {
      clearPad();
      x = null;
      source = null;
      samples = null;
      ui.samples.innerHTML = "";
      ui.readout.removeAttribute("aria-busy");
      update();
    });
  }

  // -- the map -----------------------------------------------------------------
  function nearestDigit(point, within) {
    const v = ui.mapView;
    const [px, py] = v.to(point);
    let best = -1;
    let bestDistance = within === undefined ? Infinity : within * within;
    models[current].spec.points.forEach((p, i) => {
      const [cx, cy] = v.to(p);
      const d = (cx - px) * (cx - px) + (cy - py) * (cy - py);
      if (d < bestDistance) { bestDistance = d; best = i; }
    });
    return best;
  }

  function pick(i) {
    source = { digit: i };
    x = digits.slice(i * side * side, (i + 1) * side * side);
    z = models[current].spec.points[i].slice();
    samples = null;
    ui.samples.innerHTML = "";
    // The pad shows the digit, one block per pixel, so that it can be drawn over.
    const ctx = ui.pad.getContext("2d");
    clearPad();
    const block = ui.pad.width / side;
    ctx.fillStyle = "#000";
    for (let k = 0; k < side * side; k++) {
      if (x[k]) ctx.fillRect((k % side) * block, Math.floor(k / side) * block, block, block);
    }
    render();
    return update();
  }

  function setupMap() {
    const moveTo = (event) => {
      if (!models[current].decoder) return;
      z = ui.mapView.from(...canvasPoint(event, ui.map));
      renderMap();
      renderDigit();
    };
    ui.map.addEventListener("pointermove", moveTo);
    ui.map.addEventListener("pointerdown", (event) => {
      ui.map.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    ui.map.addEventListener("click", (event) => {
      if (!models[current].decoder) return;
      const i = nearestDigit(ui.mapView.from(...canvasPoint(event, ui.map)), 12);
      if (i >= 0) pick(i);
    });
    ui.map.addEventListener("keydown", (event) => {
      if (!models[current].decoder) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick(nearestDigit(z));
        return;
      }
      const step = event.shiftKey ? 0.5 : 0.1;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (!(event.key in moves)) return;
      event.preventDefault();
      z = [z[0] + moves[event.key][0], z[1] + moves[event.key][1]];
      renderMap();
      renderDigit();
    });
  }

  // -- samples from q ------------------------------------------------------------
  function gaussian() {
    const u = 1 - Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }

  function drawSamples() {
    if (!result || !result.logvar) return;
    const sigma = result.logvar.map((v) => Math.exp(0.5 * v));
    const codes = [];
    for (let k = 0; k < SAMPLES; k++) {
      codes.push([result.mu[0] + sigma[0] * gaussian(), result.mu[1] + sigma[1] * gaussian()]);
    }
    samples = { name: current, z: codes };
    ui.samples.innerHTML = "";
    for (const code of codes.slice(0, SAMPLE_IMAGES)) {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = side;
      canvas.className = "vx-pixels";
      canvas.style.width = "56px";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Decoded from the sample z = ${pair(code)}`);
      drawImage(canvas, models[current].decoder.mean(code), true);
      const caption = document.createElement("figcaption");
      caption.textContent = pair(code, 1);
      figure.append(canvas, caption);
      ui.samples.append(figure);
    }
    render();
  }

  // -- models ------------------------------------------------------------------
  function select(name) {
    current = name;
    result = null;
    samples = null;
    ui.samples.innerHTML = "";
    for (const r of ui.radios) r.checked = r.value === name;
    root.dataset.model = name;
    const m = models[name];
    const loading = !m.decoder;
    if (loading) setStatus(`Loading the ${m.entry.label.toLowerCase()} (${megabytes(m.entry.bytes.decoder)} now, ` +
      `${megabytes(m.entry.bytes.encoder)} more for its encoder)\u2026`, true);
    return loadModel(name).then(() => {
      if (current !== name) return null;
      if (loading) setStatus("", false);
      if (source && source.digit !== undefined) z = m.spec.points[source.digit].slice();
      renderReadout();
      render();
      return update();
    });
  }

  async function start() {
    index = await (await fetchOk(indexUrl)).json();
    side = index.image_shape[0];
    for (const entry of index.models) models[entry.name] = { entry: entry };
    build();
    setStatus("Loading\u2026", true);
    worker = new Worker(new URL("explorer-worker.js", scriptUrl));
    worker.onmessage = onWorkerMessage;
    worker.onerror = (event) => setStatus("The explorer's worker failed: " + event.message, false);
    await Promise.all([loadScript(new URL("explorer-nets.js", scriptUrl)),
                       call({ type: "config", config: index })]);
    [digits] = await Promise.all([loadDigits(), loadModel(index.default)]);
    setupPad();
    setupMap();
    ui.sample.addEventListener("click", drawSamples);
    for (const r of ui.radios) r.addEventListener("change", () => { if (r.checked) select(r.value); });
    await select(index.default);
    setStatus("", false);
    return true;
  }

  // An analysis without its typed arrays (contours as plain arrays, no raster).
  function plain(r) {
    if (!r || !r.posterior) return r;
    const post = r.posterior;
    return Object.assign({}, r, {
      posterior: Object.assign({}, post, {
        contours: post.contours.map((c) => Array.from(c)),
        raster: { nx: post.raster.nx, ny: post.raster.ny, step: post.raster.step },
      }),
    });
  }

  const api = window.vaeExplorer || {};
  window.vaeExplorer = Object.assign(api, {
    last: null,  // the analysis on show
    timings: timings,
    select: (name) => select(name).then(plain),
    pick: (i) => pick(i).then(plain),
    analyze: (image, name) => analyze(Uint8Array.from(image), name || current).then(plain),
    decode: (code) => Array.from(models[current].decoder.mean(code)),
    load: (name) => loadEncoder(name).then(() => true),
    digit: (i) => Array.from(digits.slice(i * side * side, (i + 1) * side * side)),
    where: (code) => {  // the page coordinates of a code on the map
      const [cx, cy] = ui.mapView.to(code);
      const r = ui.map.getBoundingClientRect();
      return [r.left + cx * r.width / ui.map.width, r.top + cy * r.height / ui.map.height];
    },
  });
  const started = start().catch((error) => {
    if (ui.statusText) setStatus("The explorer failed: " + error.message, false);
    throw error;
  });
  if (api.settle) started.then(api.settle.resolve, api.settle.reject);
  else api.ready = started;
})();
