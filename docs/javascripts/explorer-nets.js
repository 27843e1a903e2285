// The explorer's networks, shared by the page (explorer.js) and its worker
// (explorer-worker.js): float16 weights read into Float32Arrays (which hold
// every float16 value exactly), and the encoder and decoder of figures/explorer.py's
// export, an MLP with one hidden layer of ReLUs each way:
//
//   encoder  x (784) -> h = relu(W x + b) (400) -> mu = M h + m, logvar = V h + v
//   decoder  z (2)   -> a = W1 z + b1 (400), h = relu(a) -> logits l = W2 h + b2 (784)
//
// Sums run in JavaScript's double precision.
(function (global) {
  "use strict";

  // IEEE 754 half precision (a uint16) to a number.
  function halfToFloat(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x03ff;
    if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
  }

  let halves = null;  // every float16 value, by its bits

  // The arrays of one exported part: {name: {shape, values: Float32Array}}.
  function readPart(buffer, part) {
    if (!halves) halves = Float32Array.from({ length: 65536 }, (_, bits) => halfToFloat(bits));
    const view = new DataView(buffer);
    const tensors = {};
    for (const t of part.tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = halves[view.getUint16(t.offset + 2 * i, true)];
      tensors[t.name] = { shape: t.shape, values: values };
    }
    return tensors;
  }

  function tensor(tensors, name) {
    if (!tensors[name]) throw new Error("the exported weights lack " + name);
    return tensors[name];
  }

  // The decoder. Its output weights are stored transposed, one row of 784 per
  // hidden unit, so that a code's logits add up only the rows of active units.
  class Decoder {
    constructor(tensors) {
      if (tensors["decoder.body.2.weight"]) throw new Error("the explorer runs one hidden layer");
      const first = tensor(tensors, "decoder.body.0.weight");  // (H, 2)
      const out = tensor(tensors, "decoder.output.weight");  // (P, H)
      const [H, D] = first.shape;
      if (D !== 2) throw new Error("the explorer runs 2-D codes");
      const P = out.shape[0];
      this.H = H;
      this.P = P;
      this.w0 = Float64Array.from({ length: H }, (_, j) => first.values[2 * j]);  // dz0 weights
      this.w1 = Float64Array.from({ length: H }, (_, j) => first.values[2 * j + 1]);  // dz1 weights
      this.b1 = Float64Array.from(tensor(tensors, "decoder.body.0.bias").values);
      this.wT = new Float32Array(H * P);  // wT[j * P + i] = W2[i, j]
      for (let i = 0; i < P; i++) {
        for (let j = 0; j < H; j++) this.wT[j * P + i] = out.values[i * H + j];
      }
      this.b2 = Float64Array.from(tensor(tensors, "decoder.output.bias").values);
    }

    // Fills l (length P) with the logits at z = (z0, z1), and a (length H, if
    // given) with the hidden pre-activations.
    logits(z0, z1, l, a) {
      const { H, P, wT } = this;
      l.set(this.b2);
      for (let j = 0; j < H; j++) {
        const aj = this.w0[j] * z0 + this.w1[j] * z1 + this.b1[j];
        if (a) a[j] = aj;
        if (aj <= 0) continue;
        const row = j * P;
        for (let i = 0; i < P; i++) l[i] += aj * wT[row + i];
      }
      return l;
    }

    // The mean image E[x | z]: every pixel's Bernoulli probability.
    mean(z) {
      const l = this.logits(z[0], z[1], new Float64Array(this.P), null);
      for (let i = 0; i < l.length; i++) l[i] = 1 / (1 + Math.exp(-l[i]));
      return l;
    }
  }

  // The encoder: q(z|x) = N(mu(x), diag sigma^2(x)). The noisy autoencoder's
  // sigma is one fixed number; the autoencoder's q is the point mu(x).
  class Encoder {
    constructor(tensors, spec) {
      const body = tensor(tensors, "encoder.body.0.weight");  // (H, P)
      [this.H, this.P] = body.shape;
      this.w = body.values;
      this.b = tensor(tensors, "encoder.body.0.bias").values;
      this.mean = [tensor(tensors, "encoder.mean.weight"), tensor(tensors, "encoder.mean.bias")];
      this.logvar = tensors["encoder.logvar.weight"]
        ? [tensors["encoder.logvar.weight"], tensors["encoder.logvar.bias"]] : null;
      this.limit = spec.logvar_limit;
      this.fixedLogvar = spec.noise_sigma ? 2 * Math.log(spec.noise_sigma) : null;
    }

    // {mu: [m0, m1], logvar: [v0, v1] or null} for an image x (length P).
    params(x) {
      const { H, P, w, b } = this;
      const ink = [];
      for (let i = 0; i < P; i++) if (x[i] !== 0) ink.push(i);
      const h = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let s = b[j];
        const row = j * P;
        for (const i of ink) s += w[row + i] * x[i];
        h[j] = s > 0 ? s : 0;
      }
      const head = ([weight, bias]) => [0, 1].map((d) => {
        let s = bias.values[d];
        for (let j = 0; j < H; j++) s += weight.values[d * H + j] * h[j];
        return s;
      });
      const mu = head(this.mean);
      let logvar = null;
      if (this.logvar) {
        logvar = head(this.logvar).map((v) => Math.min(Math.max(v, -this.limit), this.limit));
      } else if (this.fixedLogvar !== null) {
        logvar = [this.fixedLogvar, this.fixedLogvar];
      }
      return { mu: mu, logvar: logvar };
    }
  }

  global.VaeNets = { halfToFloat, readPart, Decoder, Encoder };
})(self);
