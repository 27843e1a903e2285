// The live latent-space explorer: the trained 2-D VAE's encoder and decoder,
// run in the browser on the weights the figure pipeline exported
// (figures/explorer.py). Plain JavaScript, no library, works offline.
//
// Markup: <div class="vae-explorer" data-model="URL of vae-2d.json"></div>
// For tests and the curious: window.vaeExplorer.{ready, decode(z), encode(x) -> Promise}.
(function () {
  "use strict";

  const CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  // IEEE 754 half precision (little-endian uint16) to a JavaScript number.
  function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x03ff;
    if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
  }

  // Loads one part ("decoder" or "encoder") of the exported weights into model.t.
  async function loadPart(model, part) {
    const entry = model.spec.parts[part];
    const response = await fetch(new URL(entry.file, model.url));
    const view = new DataView(await response.arrayBuffer());
    for (const t of entry.tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      const values = new Float64Array(size);
      for (let i = 0; i < size; i++) values[i] = halfToFloat(view.getUint16(t.offset + 2 * i, true));
      model.t[t.name] = { shape: t.shape, values: values };
    }
    return model;
  }

  async function loadModel(url) {
    const spec = await (await fetch(url)).json();
    return loadPart({ spec: spec, url: url, t: {}, encoder: null }, "decoder");
  }

  // The encoder is fetched the first time it is needed, when a digit is drawn.
  function encoderReady(model) {
    if (!model.encoder) model.encoder = loadPart(model, "encoder");
    return model.encoder;
  }

  // y = W x + b for a torch.nn.Linear weight of shape (out, in), row-major.
  function linear(layer, x) {
    const [out, inn] = layer.weight.shape;
    const w = layer.weight.values;
    const b = layer.bias.values;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o];
      const row = o * inn;
      for (let i = 0; i < inn; i++) s += w[row + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  function relu(x) { return x.map((v) => (v > 0 ? v : 0)); }

  function layer(model, prefix) {
    return { weight: model.t[prefix + ".weight"], bias: model.t[prefix + ".bias"] };
  }

  // The sequential MLP bodies hold Linear layers at even indices (ReLU between).
  function body(model, prefix, x) {
    for (let i = 0; model.t[prefix + "." + i + ".weight"]; i += 2) {
      x = relu(linear(layer(model, prefix + "." + i), x));
    }
    return x;
  }

  function decode(model, z) {
    const out = linear(layer(model, "decoder.output"), body(model, "decoder.body", z));
    return Float64Array.from(out, (v) => 1 / (1 + Math.exp(-v)));  // Bernoulli mean
  }

  function encode(model, x) {
    const h = body(model, "encoder.body", x);
    const mu = linear(layer(model, "encoder.mean"), h);
    const logvar = linear(layer(model, "encoder.logvar"), h);
    return { mu: Array.from(mu), logvar: Array.from(logvar) };
  }

  function drawDigit(canvas, pixels, side) {
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const ink = Math.round(255 * (1 - pixels[i]));
      image.data.set([ink, ink, ink, 255], 4 * i);
    }
    const scratch = document.createElement("canvas");
    scratch.width = scratch.height = side;
    scratch.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  function setup(root, model) {
    const spec = model.spec;
    const side = spec.image_shape[0];
    const xs = spec.points.map((p) => p[0]);
    const ys = spec.points.map((p) => p[1]);
    const pad = 0.5;
    const box = { x0: Math.min(...xs) - pad, x1: Math.max(...xs) + pad,
                  y0: Math.min(...ys) - pad, y1: Math.max(...ys) + pad };

    root.innerHTML = `
      <div class="vae-explorer__panel">
        <canvas class="vae-explorer__map" width="360" height="360" tabindex="0"
          role="application" aria-label="Latent map of the 2-D VAE. Move the pointer, or use the arrow keys, to choose a code z."></canvas>
        <p class="vae-explorer__readout" aria-live="polite"></p>
      </div>
      <div class="vae-explorer__panel">
        <canvas class="vae-explorer__digit" width="168" height="168" role="img"
          aria-label="The digit the decoder draws for the chosen code"></canvas>
        <p>decoded from <em>z</em></p>
      </div>
      <div class="vae-explorer__panel">
        <canvas class="vae-explorer__pad" width="168" height="168"
          aria-label="Drawing pad: draw a digit with the pointer or a finger"></canvas>
        <p>draw a digit here
          <button type="button" class="md-button vae-explorer__clear">Clear</button></p>
      </div>`;
    const map = root.querySelector(".vae-explorer__map");
    const digit = root.querySelector(".vae-explorer__digit");
    const pad_ = root.querySelector(".vae-explorer__pad");
    const readout = root.querySelector(".vae-explorer__readout");
    let z = [0, 0];
    let encoded = null;

    const toCanvas = (p) => [(p[0] - box.x0) / (box.x1 - box.x0) * map.width,
                             (1 - (p[1] - box.y0) / (box.y1 - box.y0)) * map.height];
    const toLatent = (cx, cy) => [box.x0 + cx / map.width * (box.x1 - box.x0),
                                  box.y0 + (1 - cy / map.height) * (box.y1 - box.y0)];

    function render() {
      const ctx = map.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, map.width, map.height);
      spec.points.forEach((p, i) => {
        const [cx, cy] = toCanvas(p);
        ctx.fillStyle = CLASS_COLORS[spec.labels[i] % 10];
        ctx.fillRect(cx - 1.5, cy - 1.5, 3, 3);
      });
      if (encoded) {
        const [cx, cy] = toCanvas(encoded.mu);
        const sx = Math.exp(0.5 * encoded.logvar[0]) / (box.x1 - box.x0) * map.width;
        const sy = Math.exp(0.5 * encoded.logvar[1]) / (box.y1 - box.y0) * map.height;
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.ellipse(cx, cy, Math.max(sx, 1), Math.max(sy, 1), 0, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.fillStyle = "#000";
        ctx.fillRect(cx - 3, cy - 3, 6, 6);
      }
      const [cx, cy] = toCanvas(z);
      ctx.strokeStyle = "#b71c1c";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(cx - 8, cy); ctx.lineTo(cx + 8, cy);
      ctx.moveTo(cx, cy - 8); ctx.lineTo(cx, cy + 8);
      ctx.stroke();
      drawDigit(digit, decode(model, z), side);
      readout.textContent = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})` + (encoded
        ? `; drawing encoded at μ = (${encoded.mu.map((v) => v.toFixed(2)).join(", ")}),` +
          ` σ = (${encoded.logvar.map((v) => Math.exp(0.5 * v).toFixed(2)).join(", ")})`
        : "");
      root.dataset.z = z.join(",");
    }

    function pointAt(event, canvas) {
      const r = canvas.getBoundingClientRect();
      return [(event.clientX - r.left) / r.width * canvas.width,
              (event.clientY - r.top) / r.height * canvas.height];
    }

    map.addEventListener("pointermove", (event) => {
      z = toLatent(...pointAt(event, map));
      render();
    });
    map.addEventListener("pointerdown", (event) => {
      map.setPointerCapture(event.pointerId);
      z = toLatent(...pointAt(event, map));
      render();
    });
    map.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 0.5 : 0.1;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0],
                      ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (!(event.key in moves)) return;
      event.preventDefault();
      z = [z[0] + moves[event.key][0], z[1] + moves[event.key][1]];
      render();
    });

    // The drawing pad: thick strokes, then a 28 x 28 average, as the digits were.
    const pctx = pad_.getContext("2d");
    function clearPad() {
      pctx.fillStyle = "#fff";
      pctx.fillRect(0, 0, pad_.width, pad_.height);
    }
    clearPad();
    let drawing = false;
    let last = null;
    pad_.style.touchAction = "none";
    pad_.addEventListener("pointerdown", (event) => {
      encoderReady(model);
      drawing = true;
      pad_.setPointerCapture(event.pointerId);
      last = pointAt(event, pad_);
    });
    pad_.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      const p = pointAt(event, pad_);
      pctx.strokeStyle = "#000";
      pctx.lineWidth = pad_.width / 12;
      pctx.lineCap = "round";
      pctx.beginPath();
      pctx.moveTo(...last);
      pctx.lineTo(...p);
      pctx.stroke();
      last = p;
    });
    const finish = () => {
      if (!drawing) return;
      drawing = false;
      const small = document.createElement("canvas");
      small.width = small.height = side;
      const sctx = small.getContext("2d");
      sctx.drawImage(pad_, 0, 0, side, side);
      const data = sctx.getImageData(0, 0, side, side).data;
      const x = new Float64Array(side * side);
      for (let i = 0; i < side * side; i++) x[i] = 1 - data[4 * i] / 255;
      encoderReady(model).then(() => {
        encoded = encode(model, x);
        z = encoded.mu.slice();
        root.dataset.encoded = encoded.mu.join(",");
        render();
      });
    };
    pad_.addEventListener("pointerup", finish);
    pad_.addEventListener("pointercancel", finish);
    root.querySelector(".vae-explorer__clear").addEventListener("click", () => {
      clearPad();
      encoded = null;
      delete root.dataset.encoded;
      render();
    });
    render();
  }

  const root = document.querySelector(".vae-explorer");
  if (!root) return;
  const url = new URL(root.dataset.model, document.baseURI);
  const ready = loadModel(url).then((model) => {
    setup(root, model);
    window.vaeExplorer.decode = (z) => Array.from(decode(model, z));
    window.vaeExplorer.encode = (x) => encoderReady(model).then(() => encode(model, x));
    return true;
  });
  window.vaeExplorer = { ready: ready };
})();
