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
// pick(index), analyze(x, name), decode(z), load(name), last, timings,
// image(), cross(), where(z), axes().
(function () {
  "use strict";

  const root = document.querySelector(".vae-explorer");
  if (!root) return;
  const scriptUrl = document.currentScript.src;

  // The colours of the article's figures (vae/site/plotting.py, figures/exact_posterior.py),
  // so that the maps here read as part 1's and the posteriors as part 2's.
  const CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];  // tab10
  const INK = "#263238";  // text and axes
  const PRIOR = "#546e7a";  // the prior's 1-sigma and 2-sigma circles, dashed
  const SHADES = ["#607d8b", "#b0bec5", "#eceff1"];  // p(z|x): its highest-density regions, inner first
  const SHADE_EDGE = "#90a4ae";  // a thin line round each region
  const Q = "#d84315";  // q(z|x): solid ellipses
  const CROSS = "#b71c1c";  // the code z the decoder draws
  // The plots are drawn in CSS pixels at the width they are laid out at, so that
  // their text stays FONT_PX high on any screen.
  const FONT_PX = 12;
  const FONT_FAMILY = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
  const MARGIN = { left: 52, right: 10, top: 10, bottom: 38 };  // CSS px round the square plot
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
.vae-explorer canvas.vx-plot { border: 0; border-radius: 2px; }
.vae-explorer canvas.vx-map { width: 400px; }
.vae-explorer canvas.vx-closeup { width: 320px; }
/* ul.vx-key: as specific as Material's .md-typeset ul:not([hidden]), and later. */
.vae-explorer ul.vx-key { display: flex; flex-wrap: wrap; gap: .1rem .7rem; list-style: none;
  margin: .3rem 0 0; padding: 0; max-width: 400px; font-size: .64rem; }
.vae-explorer ul.vx-key li { display: flex; align-items: center; gap: .25rem; margin: 0; }
.vae-explorer ul.vx-key li[hidden] { display: none; }
.vae-explorer .vx-swatch { display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; }
.vae-explorer .vx-key svg { display: block; width: 1.2rem; height: 1.2rem; }
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
  let samples = null;  // {name, image, z: [[z0, z1], ...]}: codes drawn from q for that image
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
    const classes = index.class_names.map((name, k) =>
      `<li><span class="vx-swatch" style="background: ${CLASS_COLORS[k % 10]}"></span>${name}</li>`).join("");
    const marks = [
      ["prior", "prior p(z): 1\u03c3, 2\u03c3"],
      ["posterior", "p(z | x)"],
      ["q", "q(z | x)"],
      ["cross", "the cross <em>z</em>"],
    ].map(([mark, text]) => `<li data-mark="${mark}">${swatch(mark)}${text}</li>`).join("");
    root.innerHTML = `
      <fieldset class="vx-models"><legend>Model</legend>${radios}</fieldset>
      <div class="vx-row">
        <figure>
          <canvas class="vx-map vx-plot" width="400" height="388" tabindex="0" role="application"
            aria-roledescription="code map" aria-label="Code space map" aria-describedby="vx-map-caption"></canvas>
          <ul class="vx-key vx-classes" aria-label="Classes: the colours of the dots">${classes}</ul>
          <ul class="vx-key vx-marks" aria-label="Marks on the map">${marks}</ul>
          <figcaption id="vx-map-caption">The code space: the test digits at the means of their
            <em>q</em>(<em>z</em> | <em>x</em>), coloured by class, and the prior's 1\u03c3 and 2\u03c3 circles.
            Point at it, or focus it and use the arrow keys (Shift: faster), to move the cross <em>z</em>;
            click a dot, or press Enter, to pick the test digit nearest the cross.</figcaption>
        </figure>
        <figure>
          <canvas class="vx-closeup vx-plot" width="320" height="308" role="img"
            aria-describedby="vx-closeup-caption" aria-label="Close-up of the posterior"></canvas>
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
  // The map's box: square, so that circles stay circles, around the test digits'
  // codes and the prior's 2-sigma circle.
  function mapBox() {
    const points = models[current].spec.points;
    const pad = 0.5;
    let x0 = -2, x1 = 2, y0 = -2, y1 = 2;
    for (const p of points) {
      x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
      y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    }
    const half = Math.max(x1 - x0, y1 - y0) / 2 + pad;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
  }

  // Sizes a plot's canvas to the width it is laid out at, in device pixels, and
  // returns its context drawing in CSS pixels: the plot is a square of that
  // width less the side margins, with the margins round it for the axes.
  function fit(canvas) {
    const width = canvas.clientWidth || canvas.width;
    const height = width - MARGIN.left - MARGIN.right + MARGIN.top + MARGIN.bottom;
    canvas.style.height = height + "px";
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(width * dpr), h = Math.round(height * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(w / width, 0, 0, h / height, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    return { ctx: ctx, width: width, height: height };
  }

  // From codes to CSS pixels of a plot, and back.
  function view(plot, box) {
    const left = MARGIN.left, top = MARGIN.top;
    const size = plot.width - MARGIN.left - MARGIN.right;
    const sx = size / (box.x1 - box.x0);
    const sy = size / (box.y1 - box.y0);
    return {
      box: box,
      sx: sx,
      sy: sy,
      left: left,
      top: top,
      size: size,
      to: (p) => [left + (p[0] - box.x0) * sx, top + (box.y1 - p[1]) * sy],
      from: (cx, cy) => [box.x0 + (cx - left) / sx, box.y1 - (cy - top) / sy],
    };
  }

  // Where a pointer event is on a canvas: in its own pixels, or in CSS pixels.
  function canvasPoint(event, canvas) {
    const r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) / r.width * canvas.width,
            (event.clientY - r.top) / r.height * canvas.height];
  }
  function cssPoint(event, canvas) {
    const r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  }

  // The radius, in standard deviations, of the ellipse that holds `share` of a
  // 2-D Gaussian: |eps|^2 / 2 is exponentially distributed.
  const gaussianRadius = (share) => Math.sqrt(-2 * Math.log(1 - share));

  // The square around what the close-up shows: the posterior's outer contour,
  // q's outer ellipse and the mode.
  function closeupBox() {
    const xs = [], ys = [];
    const add = (a, b) => { xs.push(a); ys.push(b); };
    if (result && result.posterior) {
      const outer = result.posterior.contours[result.posterior.contours.length - 1];
      for (let i = 0; i < outer.length; i += 2) add(outer[i], outer[i + 1]);
      add(...result.posterior.mode);
    }
    if (result && result.mu) {
      const r = gaussianRadius(index.q_masses[index.q_masses.length - 1]);
      const s = result.logvar ? result.logvar.map((v) => r * Math.exp(0.5 * v)) : [0, 0];
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

  // Round tick values, about one per `spacing` CSS pixels: steps of 1, 2 or 5
  // times a power of ten.
  function ticks(lo, hi, pixels, spacing) {
    const raw = (hi - lo) / Math.max(2, pixels / spacing);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9));
    const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    const values = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) values.push(k * step);
    return { values: values, label: (t) => fmt(Math.abs(t) < step / 2 ? 0 : t, digits) };
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

  // A small picture of each mark, for the key under the map.
  function swatch(what) {
    const inner = {
      prior: `<circle cx="9" cy="9" r="6.5" fill="none" stroke="${PRIOR}" stroke-width="1.5" stroke-dasharray="4 2.5"/>`,
      posterior: `<ellipse cx="9" cy="9" rx="7.5" ry="6" fill="${SHADES[2]}" stroke="${SHADE_EDGE}" stroke-width="1"/>` +
        `<ellipse cx="9" cy="9" rx="5.5" ry="4.2" fill="${SHADES[1]}"/><ellipse cx="9" cy="9" rx="3" ry="2.3" fill="${SHADES[0]}"/>`,
      q: `<ellipse cx="9" cy="9" rx="7" ry="5.5" fill="none" stroke="${Q}" stroke-width="1.6"/>` +
        `<ellipse cx="9" cy="9" rx="3.8" ry="3" fill="none" stroke="${Q}" stroke-width="1.6"/>`,
      cross: `<g stroke="${CROSS}" stroke-width="1.8" fill="none"><circle cx="9" cy="9" r="4.5"/>` +
        `<path d="M1 9h5M12 9h5M9 1v5M9 12v5"/></g>`,
    }[what];
    return `<svg viewBox="0 0 18 18" aria-hidden="true"><rect width="18" height="18" rx="2" fill="#fff"/>${inner}</svg>`;
  }

  // Clips what follows to the plot's square, until ctx.restore().
  function clip(ctx, v) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(v.left, v.top, v.size, v.size);
    ctx.clip();
  }

  // The frame, the ticks and their labels, and the names of the axes: z1, z2.
  function drawAxes(ctx, v) {
    const bottom = v.top + v.size;
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = 1;
    ctx.strokeRect(v.left - 0.5, v.top - 0.5, v.size + 1, v.size + 1);
    ctx.font = `${FONT_PX}px ${FONT_FAMILY}`;
    const along = ticks(v.box.x0, v.box.x1, v.size, 64);
    const up = ticks(v.box.y0, v.box.y1, v.size, 48);
    ctx.beginPath();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of along.values) {
      const x = v.to([t, 0])[0];
      ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 4);
      ctx.fillText(along.label(t), x, bottom + 6);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    let widest = 0;
    for (const t of up.values) {
      const y = v.to([0, t])[1];
      ctx.moveTo(v.left, y); ctx.lineTo(v.left - 4, y);
      ctx.fillText(up.label(t), v.left - 6, y);
      widest = Math.max(widest, ctx.measureText(up.label(t)).width);
    }
    ctx.stroke();
    ctx.font = `italic ${FONT_PX + 1}px ${FONT_FAMILY}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("z\u2081", v.left + v.size / 2, bottom + MARGIN.bottom - 1);
    ctx.save();
    // Beside the widest tick label, or at the edge.
    ctx.translate(Math.max(0, v.left - 6 - widest - 4 - FONT_PX - 2), v.top + v.size / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "top";
    ctx.fillText("z\u2082", 0, 0);
    ctx.restore();
    return { z1: along.values, z2: up.values, fontPx: FONT_PX };
  }

  // The prior N(0, I): its circles of radius 1 and 2 (1 and 2 standard
  // deviations), dashed, labelled where they are large enough, as in part 1.
  function drawPrior(ctx, v) {
    const [cx, cy] = v.to([0, 0]);
    ctx.strokeStyle = PRIOR;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 3]);
    for (const r of [1, 2]) {
      ctx.beginPath();
      ctx.ellipse(cx, cy, r * v.sx, r * v.sy, 0, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    if (v.sx < 24) return;  // the labels would pile up
    ctx.font = `${FONT_PX}px ${FONT_FAMILY}`;
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    ctx.lineJoin = "round";
    for (const r of [1, 2]) {
      const [x, y] = v.to([0.74 * r, 0.74 * r]);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 3;
      ctx.strokeText(`${r}\u03c3`, x, y);
      ctx.fillStyle = PRIOR;
      ctx.fillText(`${r}\u03c3`, x, y);
    }
  }

  // The region of a raster where it is at least `level`, as one path: in each
  // square of four neighbouring points, the polygon of its corners at or above
  // the level and of the points, linearly interpolated, where its edges cross it.
  // Filled at once, the squares' polygons meet without seams.
  function regionPath(ctx, v, picture, level) {
    const { nx, ny, values, z0, z1, step } = picture;
    const CX = [0, 1, 1, 0], CY = [0, 0, 1, 1];  // the corners, anticlockwise from the lower left
    const corner = [0, 0, 0, 0];
    ctx.beginPath();
    for (let y = 0; y + 1 < ny; y++) {
      for (let x = 0; x + 1 < nx; x++) {
        corner[0] = values[y * nx + x];
        corner[1] = values[y * nx + x + 1];
        corner[2] = values[(y + 1) * nx + x + 1];
        corner[3] = values[(y + 1) * nx + x];
        const above = corner.map((c) => c >= level);
        if (!above.some(Boolean)) continue;
        let first = true;
        const vertex = (cx, cy) => {
          const [px, py] = v.to([z0 + step * (x + cx), z1 + step * (y + cy)]);
          if (first) ctx.moveTo(px, py); else ctx.lineTo(px, py);
          first = false;
        };
        for (let k = 0; k < 4; k++) {
          const next = (k + 1) & 3;
          if (above[k]) vertex(CX[k], CY[k]);
          if (above[k] !== above[next]) {
            const t = (level - corner[k]) / (corner[next] - corner[k]);
            vertex(CX[k] + t * (CX[next] - CX[k]), CY[k] + t * (CY[next] - CY[k]));
          }
        }
        ctx.closePath();
      }
    }
  }

  // The true posterior as part 2 draws it: the smallest regions that hold the
  // contour masses, shaded from light (the outermost) to dark, each with a thin edge.
  function drawPosterior(ctx, v) {
    const post = result && result.posterior;
    if (!post) return;
    for (let k = post.thresholds.length - 1; k >= 0; k--) {
      regionPath(ctx, v, post.raster, post.thresholds[k]);
      ctx.fillStyle = SHADES[Math.min(k, SHADES.length - 1)];
      ctx.fill();
    }
    ctx.strokeStyle = SHADE_EDGE;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const segments of post.contours) {
      for (let i = 0; i < segments.length; i += 4) {
        const a = v.to([segments[i], segments[i + 1]]);
        const b = v.to([segments[i + 2], segments[i + 3]]);
        ctx.moveTo(a[0], a[1]);
        ctx.lineTo(b[0], b[1]);
      }
    }
    ctx.stroke();
  }

  // The encoder's q(z|x) as part 2 draws it: solid ellipses that hold the
  // q masses of it; its mean (the autoencoder's code) a slanted cross.
  function drawQ(ctx, v, lineWidth) {
    if (!result || !result.mu) return;
    const [cx, cy] = v.to(result.mu);
    ctx.strokeStyle = Q;
    ctx.lineWidth = lineWidth;
    if (result.logvar) {
      for (const share of index.q_masses) {
        const r = gaussianRadius(share);
        const rx = r * Math.exp(0.5 * result.logvar[0]) * v.sx;
        const ry = r * Math.exp(0.5 * result.logvar[1]) * v.sy;
        ctx.beginPath();
        ctx.ellipse(cx, cy, Math.max(rx, 1), Math.max(ry, 1), 0, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(cx - 4, cy - 4); ctx.lineTo(cx + 4, cy + 4);
    ctx.moveTo(cx - 4, cy + 4); ctx.lineTo(cx + 4, cy - 4);
    ctx.stroke();
  }

  function drawSampleDots(ctx, v) {
    if (!samples || samples.name !== current || samples.image !== x) return;
    ctx.fillStyle = "#000";
    for (const s of samples.z) {
      const [sx, sy] = v.to(s);
      ctx.beginPath();
      ctx.arc(sx, sy, 2.2, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // The posterior's mode: an upright cross.
  function drawMode(ctx, v) {
    if (!result || !result.posterior) return;
    const [mx, my] = v.to(result.posterior.mode);
    ctx.strokeStyle = INK;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(mx - 5, my); ctx.lineTo(mx + 5, my);
    ctx.moveTo(mx, my - 5); ctx.lineTo(mx, my + 5);
    ctx.stroke();
  }

  // The cross z: a ring with four arms, on a white halo so that it shows on
  // the shades and the dots.
  function drawCross(ctx, v) {
    const [cx, cy] = v.to(z);
    const path = () => {
      ctx.beginPath();
      ctx.moveTo(cx + 7, cy);
      ctx.arc(cx, cy, 7, 0, 2 * Math.PI);
      ctx.moveTo(cx - 13, cy); ctx.lineTo(cx - 3, cy);
      ctx.moveTo(cx + 3, cy); ctx.lineTo(cx + 13, cy);
      ctx.moveTo(cx, cy - 13); ctx.lineTo(cx, cy - 3);
      ctx.moveTo(cx, cy + 3); ctx.lineTo(cx, cy + 13);
    };
    path();
    ctx.strokeStyle = "rgba(255, 255, 255, 0.85)";
    ctx.lineWidth = 4.5;
    ctx.stroke();
    path();
    ctx.strokeStyle = CROSS;
    ctx.lineWidth = 2;
    ctx.stroke();
  }

  // The test digits at their codes, coloured by class.
  function drawPoints(ctx, v, alpha) {
    const labels = index.labels;
    ctx.globalAlpha = alpha;
    models[current].spec.points.forEach((p, i) => {
      const [cx, cy] = v.to(p);
      ctx.fillStyle = CLASS_COLORS[labels[i] % 10];
      ctx.beginPath();
      ctx.arc(cx, cy, 2, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.globalAlpha = 1;
  }

  function renderMap() {
    const m = models[current];
    const plot = fit(ui.map);
    const ctx = plot.ctx;
    const v = view(plot, mapBox());
    clip(ctx, v);
    drawPoints(ctx, v, result ? 0.55 : 0.9);
    drawPrior(ctx, v);
    if (source && source.digit !== undefined) {
      const [cx, cy] = v.to(m.spec.points[source.digit]);
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(cx, cy, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
    drawPosterior(ctx, v);
    drawQ(ctx, v, 1.5);
    drawSampleDots(ctx, v);
    const box = closeupBox();
    if (box) {
      const [left, top] = v.to([box.x0, box.y1]);
      const [right, bottom] = v.to([box.x1, box.y0]);
      ctx.strokeStyle = "#555";
      ctx.lineWidth = 1;
      ctx.strokeRect(left, top, right - left, bottom - top);
    }
    drawCross(ctx, v);
    ctx.restore();
    ui.mapAxes = drawAxes(ctx, v);
    ui.mapView = v;
    ui.map.setAttribute("aria-label", `Code space map of the ${m.entry.label.toLowerCase()}; ` +
      `the cross is at z = ${pair(z)}`);
  }

  // The caption says what the close-up shows whether or not it shows it yet, so
  // that its height, and the place of the pad under it on a phone, stay put
  // while a digit is drawn.
  function closeupCaption(kind) {
    if (kind === "ae") {
      return "Close-up. The autoencoder maps x to one code, the slanted cross: a point, not a " +
        "distribution, so there is no posterior to draw. Ringed cross: z. Faint dots: test digits.";
    }
    const percent = (shares) => shares.map((p) => Math.round(100 * p)).join(", ").replace(/, (\d+)$/, " and $1");
    return `Close-up, as part 2 draws posteriors. Gray: the true posterior p(z | x), the smallest ` +
      `regions holding ${percent(index.contour_masses)} % of it; upright cross: its mode. Orange: ` +
      `the encoder's q(z | x), ellipses holding ${percent(index.q_masses)} % of it; slanted cross: ` +
      `its mean. Ringed cross: z. Faint dots: test digits; black dots: codes drawn from q by the ` +
      `button below the numbers.`;
  }

  function renderCloseup() {
    const plot = fit(ui.closeup);
    const ctx = plot.ctx;
    const box = closeupBox();
    const m = models[current];
    ui.closeupCaption.textContent = closeupCaption(m.spec.kind);
    ui.closeupView = null;
    if (!box) {
      const empty = "Draw a digit, or pick one on the map, to see " +
        (m.spec.kind === "ae" ? "its code here." : "its posterior p(z | x) and q(z | x) here.");
      ctx.fillStyle = INK;
      ctx.font = `${FONT_PX}px ${FONT_FAMILY}`;
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      const words = empty.split(" ");
      let line = "", y = MARGIN.top + 4;
      for (const word of words) {  // wrapped to the plot's width
        const next = line ? line + " " + word : word;
        if (ctx.measureText(next).width > plot.width - 2 * MARGIN.right && line) {
          ctx.fillText(line, MARGIN.right, y);
          line = word;
          y += FONT_PX * 1.4;
        } else line = next;
      }
      ctx.fillText(line, MARGIN.right, y);
      ui.closeup.setAttribute("aria-label", "Close-up, empty until a digit is drawn or picked");
      return;
    }
    const v = view(plot, box);
    ui.closeupView = v;
    clip(ctx, v);
    drawPoints(ctx, v, 0.35);
    drawPosterior(ctx, v);
    drawQ(ctx, v, 2);
    drawSampleDots(ctx, v);
    drawMode(ctx, v);
    drawCross(ctx, v);
    ctx.restore();
    drawAxes(ctx, v);
    const extent = `z\u2081 from ${fmt(box.x0)} to ${fmt(box.x1)}, z\u2082 from ${fmt(box.y0)} to ${fmt(box.y1)}`;
    const what = m.spec.kind === "ae" ? `the autoencoder's code, ${pair(result.mu)}`
      : "the true posterior and of q(z | x)";
    ui.closeup.setAttribute("aria-label", `Close-up of ${what}; ${extent}`);
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
    if (!current || !models[current].decoder) return;
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
      if (samples && samples.image !== image) {  // drawn from q of an image no longer shown
        samples = null;
        ui.samples.innerHTML = "";
      }
      // The cross goes to the image's code, the mean of q(z|x), at every
      // analysis, pen down or up: the map shows where the drawing lies, and the
      // decoded digit is what the decoder makes of that code.
      z = r.mu.slice();
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
      z = ui.mapView.from(...cssPoint(event, ui.map));
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
      const i = nearestDigit(ui.mapView.from(...cssPoint(event, ui.map)), 12);
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
    samples = { name: current, image: x, z: codes };
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
      // The autoencoder has neither a posterior nor a q to draw.
      for (const item of root.querySelectorAll(".vx-marks [data-mark=posterior], .vx-marks [data-mark=q]")) {
        item.hidden = m.spec.kind === "ae";
      }
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
    // The plots are drawn at the width they are laid out at: again when it changes.
    const resized = new ResizeObserver(() => render());
    resized.observe(ui.map);
    resized.observe(ui.closeup);
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
    image: () => (x ? Array.from(x) : null),  // the image the model reads
    cross: () => z.slice(),
    where: (code, plot = "map") => {  // the page coordinates of a code on the map or the close-up
      const [cx, cy] = ui[plot + "View"].to(code);
      const r = ui[plot].getBoundingClientRect();
      return [r.left + cx, r.top + cy];
    },
    axes: () => ui.mapAxes,  // the map's ticks, and its text's height in CSS pixels
  });
  const started = start().catch((error) => {
    if (ui.statusText) setStatus("The explorer failed: " + error.message, false);
    throw error;
  });
  if (api.settle) started.then(api.settle.resolve, api.settle.reject);
  else api.ready = started;
})();
