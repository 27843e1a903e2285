// The explorer's heavy work, off the page's thread: for one binary image x,
// the true posterior p(z|x) = p(x|z) p(z) / p(x) of a model with a 2-D code on
// an adaptive grid, log p(x) from the same grid, and the ELBO with its two terms.
//
// The grid. Codes lie on a lattice over [-R, R]^2. A coarse pass evaluates
// log p(x, z) at the centre of every coarse cell (step h0). Then, while the
// posterior is narrower than `std_cells` cells, the cells that hold all but
// `tail_mass` of its mass, and their neighbours, are cut into refine x refine
// smaller cells and evaluated again. The midpoint rule over the resulting cells
// gives p(x) = sum of p(x, z_c) * area_c; the finer lattices nest in the coarse
// one (refine is odd), so every point is a point of the finest lattice.
//
// The cost. For a Bernoulli decoder with logits l(z) = W2 relu(W1 z + b1) + b2,
//
//   log p(x|z) = x . l(z) - A(z),   A(z) = sum_i softplus(l_i(z)),
//
// and x . l(z) = relu(W1 z + b1) . (W2^T x) + b2 . x costs 400 products per code
// once W2^T x is known. A(z) does not depend on x, so it is computed once per
// lattice point and kept: a new drawing pays only for points no drawing has
// needed before. Along a row of the lattice the logits are piecewise linear
// in z, so A is computed by stepping: l changes by step * g, where g sums the
// output rows of the active hidden units, plus a correction for each unit that
// switches on or off. Exact up to rounding, at a fraction of a full decoder pass.
//
// Messages in: {type: "config", config}, {type: "decoder" | "encoder", name,
// spec, buffer}, {type: "analyze", id, name, x}. Out: {type: "loaded" | "result"
// | "error", ...}.
importScripts("explorer-nets.js");

const LOG_2PI = Math.log(2 * Math.PI);
const MAX_STEPS = 24;  // a gap of more lattice steps than this restarts the row

// softplus(u) = log(1 + e^u) = max(u, 0) + log1p(e^-|u|). The second term comes
// from a table, by cubic Hermite interpolation (value and slope at every
// 1/TABLE_STEPS): error under 1e-9 per pixel. Beyond |u| = TABLE_END it is
// below 1e-17 and left out.
const TABLE_STEPS = 32;
const TABLE_END = 40;
const TABLE_VALUE = new Float64Array(TABLE_END * TABLE_STEPS + 2);
const TABLE_SLOPE = new Float64Array(TABLE_END * TABLE_STEPS + 2);
for (let k = 0; k < TABLE_VALUE.length; k++) {
  const u = k / TABLE_STEPS;
  TABLE_VALUE[k] = Math.log1p(Math.exp(-u));
  TABLE_SLOPE[k] = -1 / (1 + Math.exp(u)) / TABLE_STEPS;  // per table step
}

// A(z) = sum_i softplus(l_i), from the table.
function softplusSum(l) {
  let s = 0;
  for (let i = 0; i < l.length; i++) {
    const v = l[i];
    const u = v > 0 ? v : -v;
    if (v > 0) s += v;
    if (u >= TABLE_END) continue;
    const p = u * TABLE_STEPS;
    const k = p | 0;
    const t = p - k;
    const t2 = t * t;
    const t3 = t2 * t;
    s += (2 * t3 - 3 * t2 + 1) * TABLE_VALUE[k] + (t3 - 2 * t2 + t) * TABLE_SLOPE[k] +
      (3 * t2 - 2 * t3) * TABLE_VALUE[k + 1] + (t3 - t2) * TABLE_SLOPE[k + 1];
  }
  return s;
}

// log p(x|z) for binary x from the logits: sum x_i l_i - softplus(l_i).
function bernoulliLogLikelihood(x, l) {
  let s = 0;
  for (let i = 0; i < l.length; i++) if (x[i]) s += l[i];
  return s - softplusSum(l);
}

let config = null;
let lattice = null;
const models = {};

function setConfig(c) {
  const g = c.grid;
  if (g.refine % 2 !== 1) throw new Error("the refinement must be odd, so that lattices nest");
  const strides = [];  // lattice points between neighbours, per level
  for (let level = 0; level <= g.levels; level++) strides.push(Math.pow(g.refine, g.levels - level));
  const f = g.step / strides[0];  // the finest step
  const n = Math.round(2 * g.extent / f) + 1;
  if (Math.abs((n - 1) % strides[0]) > 0) throw new Error("the extent must be a whole number of coarse cells");
  config = c;
  lattice = { R: g.extent, f: f, n: n, strides: strides, steps: strides.map((s) => s * f) };
}

// A(z) at lattice points of one level (linear indices p = iy * n + ix), computed
// where not yet known, row by row. Returns how many were computed.
function ensureA(model, points, level) {
  const { A, decoder } = model;
  const { n, f, R } = lattice;
  const stride = lattice.strides[level];
  const delta = stride * f;
  const need = points.filter((p) => Number.isNaN(A[p])).sort((a, b) => a - b);
  const { H, P, wT, w0 } = decoder;
  const l = new Float64Array(P);
  const g = new Float64Array(P);
  const a = new Float64Array(H);
  let k = 0;
  while (k < need.length) {
    // A full decoder pass at the start of a run: the logits, and g, their slope along z0.
    let ix = need[k] % n;
    const iy = (need[k] - ix) / n;
    decoder.logits(-R + ix * f, -R + iy * f, l, a);
    g.fill(0);
    for (let j = 0; j < H; j++) {
      if (a[j] <= 0) continue;
      const w = w0[j];
      const row = j * P;
      for (let i = 0; i < P; i++) g[i] += w * wT[row + i];
    }
    A[need[k]] = softplusSum(l);
    k++;
    while (k < need.length) {
      const next = need[k] % n;
      if ((need[k] - next) / n !== iy || (next - ix) / stride > MAX_STEPS) break;
      for (; ix < next; ix += stride) {
        for (let i = 0; i < P; i++) l[i] += delta * g[i];
        for (let j = 0; j < H; j++) {
          const before = a[j];
          const after = before + delta * w0[j];
          a[j] = after;
          if (before > 0 === after > 0) continue;
          // Unit j switched: undo the slope added for it, add its actual change.
          const change = (after > 0 ? after : 0) - (before > 0 ? before + delta * w0[j] : 0);
          const slope = after > 0 ? w0[j] : -w0[j];
          const row = j * P;
          for (let i = 0; i < P; i++) {
            l[i] += change * wT[row + i];
            g[i] += slope * wT[row + i];
          }
        }
      }
      A[need[k]] = softplusSum(l);
      k++;
    }
  }
  return need.length;
}

function coarsePoints() {
  const { n, strides } = lattice;
  const points = [];
  for (let iy = 0; iy < n; iy += strides[0]) {
    for (let ix = 0; ix < n; ix += strides[0]) points.push(iy * n + ix);
  }
  return points;
}

// relu(W1 z + b1) at every coarse point, one row of H per point, so that the
// coarse pass of a drawing is one matrix-vector product.
function coarseActivations(decoder) {
  const { H, w0, w1, b1 } = decoder;
  const { n, f, R } = lattice;
  const points = coarsePoints();
  const h = new Float32Array(points.length * H);
  points.forEach((p, k) => {
    const ix = p % n;
    const z0 = -R + ix * f;
    const z1 = -R + ((p - ix) / n) * f;
    for (let j = 0; j < H; j++) {
      const a = w0[j] * z0 + w1[j] * z1 + b1[j];
      h[k * H + j] = a > 0 ? a : 0;
    }
  });
  return h;
}

function loadDecoder(name, spec, buffer) {
  const started = performance.now();
  const decoder = new VaeNets.Decoder(VaeNets.readPart(buffer, spec.parts.decoder));
  const model = { name: name, spec: spec, decoder: decoder, encoder: null };
  models[name] = model;
  if (spec.kind !== "ae") {
    model.A = new Float64Array(lattice.n * lattice.n).fill(NaN);
    model.mark = new Uint8Array(lattice.n * lattice.n);
    ensureA(model, coarsePoints(), 0);
    model.coarse = coarseActivations(decoder);
    // A first analysis, of a blank image, compiles the code a drawing runs.
    posterior(model, new Uint8Array(decoder.P));
    model.warming = warmingQueue(spec.points);
    warm(model);
  }
  return performance.now() - started;
}

// While the reader is not drawing, the worker fills in A(z) where posteriors
// usually are: first at the next level's points of the coarse cells around the
// test digits' codes, then at the finest level's points of the coarse cells
// that hold a code, the most crowded cells first. A drawing that lands there
// finds its grid ready. The work goes in slices of a few milliseconds, so that a
// drawing's analysis waits for one slice at most.
const WARM_SLICE_MS = 8;
let warmTimer = null;
let warmModel = null;

// The points of one level inside the coarse cell centred on lattice point p.
function pointsOfCell(p, level) {
  const { n, strides } = lattice;
  const s = strides[level];
  const half = (strides[0] / s - 1) / 2;  // points either side of the centre
  const ix = p % n;
  const out = [];
  for (let dy = -half; dy <= half; dy++) {
    for (let dx = -half; dx <= half; dx++) {
      const q = p + (dy * n + dx) * s;
      if (ix + dx * s >= 0 && ix + dx * s < n && q >= 0 && q < n * n) out.push(q);
    }
  }
  return out;
}

function warmingQueue(points) {
  const { n, f, R, strides } = lattice;
  const s = strides[0];
  const crowd = new Map();  // coarse cell -> weight: 4 per code inside, 1 per code beside
  for (const [z0, z1] of points) {
    const ix = Math.round((z0 + R) / f / s) * s;
    const iy = Math.round((z1 + R) / f / s) * s;
    for (let dy = -s; dy <= s; dy += s) {
      for (let dx = -s; dx <= s; dx += s) {
        if (ix + dx < 0 || ix + dx >= n || iy + dy < 0 || iy + dy >= n) continue;
        const p = (iy + dy) * n + ix + dx;
        crowd.set(p, (crowd.get(p) || 0) + (dx || dy ? 1 : 4));
      }
    }
  }
  // Tasks of a few cells each; the finest level's cells go in lattice order, so
  // that neighbours share their rows.
  const tasks = (cells, level) => {
    const out = [];
    for (let k = 0; k < cells.length; k += 4) {
      out.push({ level: level, points: cells.slice(k, k + 4).flatMap((p) => pointsOfCell(p, level)) });
    }
    return out;
  };
  const crowded = Array.from(crowd.keys()).sort((a, b) => crowd.get(b) - crowd.get(a));
  const finest = strides.length - 1;
  return [
    ...(finest >= 1 ? tasks(crowded, 1) : []),
    ...(finest >= 2 ? tasks(crowded.filter((p) => crowd.get(p) >= 4).sort((a, b) => a - b), finest) : []),
  ];
}

function warm(model) {
  warmModel = model;
  if (warmTimer === null && model.warming.length) warmTimer = setTimeout(warmSlice, 0);
}

function warmSlice() {
  warmTimer = null;
  const model = warmModel;
  const until = performance.now() + WARM_SLICE_MS;
  while (model.warming.length && performance.now() < until) {
    const task = model.warming.shift();
    ensureA(model, task.points, task.level);
  }
  if (model.warming.length) warmTimer = setTimeout(warmSlice, 0);
  else {
    // Then the other models that still have cells to warm.
    const other = Object.values(models).find((m) => m.warming && m.warming.length);
    if (other) warm(other);
  }
}

function loadEncoder(name, spec, buffer) {
  models[name].encoder = new VaeNets.Encoder(VaeNets.readPart(buffer, spec.parts.encoder), spec);
}

// Moments of the posterior from the current cells (parallel arrays: lattice
// index p of each cell's centre, its level, log p(x, z) there): log of the total
// mass, every cell's share w of it, mean, covariance, and the width
// sqrt(sigma1 sigma2) of the Gaussian that spreads over the same effective area,
// 1 / integral p^2.
function moments(cells, logArea) {
  const { p, level, lj } = cells;
  const { n, f, R } = lattice;
  const count = p.length;
  let top = -Infinity;
  for (let k = 0; k < count; k++) top = Math.max(top, lj[k] + logArea[level[k]]);
  let total = 0;
  for (let k = 0; k < count; k++) total += Math.exp(lj[k] + logArea[level[k]] - top);
  const logZ = top + Math.log(total);
  const w = new Float64Array(count);
  let m0 = 0, m1 = 0, s00 = 0, s01 = 0, s11 = 0, sq = 0;
  for (let k = 0; k < count; k++) {
    const wk = Math.exp(lj[k] + logArea[level[k]] - logZ);
    w[k] = wk;
    const ix = p[k] % n;
    const z0 = -R + ix * f;
    const z1 = -R + ((p[k] - ix) / n) * f;
    m0 += wk * z0; m1 += wk * z1;
    s00 += wk * z0 * z0; s01 += wk * z0 * z1; s11 += wk * z1 * z1;
    sq += wk * wk * Math.exp(-logArea[level[k]]);
  }
  return {
    logZ: logZ,
    w: w,
    mean: [m0, m1],
    cov: [s00 - m0 * m0, s01 - m0 * m1, s11 - m1 * m1],
    width: Math.sqrt(1 / sq / (4 * Math.PI)),
  };
}

function posterior(model, x) {
  const started = performance.now();
  const { decoder, A, mark } = model;
  const { n, f, R, strides, steps } = lattice;
  const grid = config.grid;
  const { H, P, wT, b2, w0, w1, b1 } = decoder;

  // x . l(z) = relu(W1 z + b1) . v + c with v = W2^T x, c = b2 . x.
  const ink = [];
  for (let i = 0; i < P; i++) if (x[i]) ink.push(i);
  const v = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    let s = 0;
    const row = j * P;
    for (const i of ink) s += wT[row + i];
    v[j] = s;
  }
  let c = 0;
  for (const i of ink) c += b2[i];

  // log p(x, z) at lattice point p, once A(z) is known there.
  const logJoint = (p) => {
    const ix = p % n;
    const z0 = -R + ix * f;
    const z1 = -R + ((p - ix) / n) * f;
    let s = c;
    for (let j = 0; j < H; j++) {
      const a = w0[j] * z0 + w1[j] * z1 + b1[j];
      if (a > 0) s += a * v[j];
    }
    return s - A[p] - 0.5 * (z0 * z0 + z1 * z1) - LOG_2PI;
  };
  const logArea = steps.map((s) => 2 * Math.log(s));

  const first = coarsePoints();
  const coarse = model.coarse;
  const firstJoint = first.map((p, k) => {
    let s = c;
    for (let j = 0, o = k * H; j < H; j++) s += coarse[o + j] * v[j];
    const ix = p % n;
    const z0 = -R + ix * f;
    const z1 = -R + ((p - ix) / n) * f;
    return s - A[p] - 0.5 * (z0 * z0 + z1 * z1) - LOG_2PI;
  });
  let cells = { p: first, level: first.map(() => 0), lj: firstJoint };
  let computed = 0;
  const refined = [];  // per level: cells cut, cells made
  let stats = moments(cells, logArea);
  let level = 0;
  for (; level < grid.levels; level++) {
    if (stats.width >= grid.std_cells * steps[level]) break;
    // The cells of this level that hold all but tail_mass of the mass, and their neighbours.
    const own = [];
    for (let k = 0; k < cells.p.length; k++) if (cells.level[k] === level) own.push(k);
    own.sort((a, b) => cells.lj[b] - cells.lj[a]);
    for (const k of own) mark[cells.p[k]] = 1;  // 1: a cell of this level
    const s = strides[level];
    let held = 0;
    for (const k of own) {
      if (held >= 1 - grid.tail_mass) break;
      held += stats.w[k];
      const p = cells.p[k];
      const ix = p % n;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const q = p + (dy * n + dx) * s;
          if (ix + dx * s < 0 || ix + dx * s >= n || q < 0 || q >= n * n) continue;
          if (mark[q] === 1) mark[q] = 2;  // 2: to be cut
        }
      }
    }
    const finer = strides[level + 1];
    const half = (grid.refine - 1) / 2;
    const next = { p: [], level: [], lj: [] };
    const children = [];
    let cut = 0;
    for (let k = 0; k < cells.p.length; k++) {
      const p = cells.p[k];
      if (cells.level[k] !== level || mark[p] !== 2) {
        next.p.push(p); next.level.push(cells.level[k]); next.lj.push(cells.lj[k]);
        continue;
      }
      cut++;
      const ix = p % n;
      for (let dy = -half; dy <= half; dy++) {
        for (let dx = -half; dx <= half; dx++) {
          const q = p + (dy * n + dx) * finer;
          if (ix + dx * finer < 0 || ix + dx * finer >= n || q < 0 || q >= n * n) continue;
          children.push(q);
        }
      }
    }
    for (const k of own) mark[cells.p[k]] = 0;
    computed += ensureA(model, children, level + 1);
    for (const q of children) { next.p.push(q); next.level.push(level + 1); next.lj.push(logJoint(q)); }
    refined.push({ cells: cut, points: children.length });
    cells = next;
    stats = moments(cells, logArea);
  }

  // The mode, and the density above which each contour's share of the mass lies.
  const order = Int32Array.from(cells.p.keys()).sort((a, b) => cells.lj[b] - cells.lj[a]);
  const top = cells.lj[order[0]];
  const modeIx = cells.p[order[0]] % n;
  const mode = [-R + modeIx * f, -R + ((cells.p[order[0]] - modeIx) / n) * f];
  const masses = config.contour_masses;
  const thresholds = [];
  let held = 0;
  for (let k = 0; k < order.length && thresholds.length < masses.length; k++) {
    held += stats.w[order[k]];
    while (thresholds.length < masses.length && held >= masses[thresholds.length]) {
      thresholds.push(cells.lj[order[k]] - top);
    }
  }
  while (thresholds.length < masses.length) thresholds.push(cells.lj[order[order.length - 1]] - top);
  const picture = raster(cells, top, level);
  return {
    logpx: stats.logZ,
    mean: stats.mean,
    cov: stats.cov,
    width: stats.width,
    mode: mode,
    finest: level,
    step: steps[level],
    refined: refined,
    points: cells.p.length,
    computed: computed,
    raster: picture,
    thresholds: thresholds,
    contours: thresholds.map((t) => contour(picture, t)),
    ms: performance.now() - started,
  };
}

// log p(z|x) - log p(mode|x) on the lattice of the finest level reached, over the
// box where it is above -20 (and -30 at least): each point takes the value of the
// cell it lies in.
function raster(cells, top, level) {
  const { n, f, R, strides } = lattice;
  const s = strides[level];
  let lo0 = n, hi0 = 0, lo1 = n, hi1 = 0;
  for (let k = 0; k < cells.p.length; k++) {
    if (cells.lj[k] < top - 20) continue;
    const ix = cells.p[k] % n;
    const iy = (cells.p[k] - ix) / n;
    const reach = (strides[cells.level[k]] - 1) / 2;
    lo0 = Math.min(lo0, ix - reach); hi0 = Math.max(hi0, ix + reach);
    lo1 = Math.min(lo1, iy - reach); hi1 = Math.max(hi1, iy + reach);
  }
  // On the level's lattice, with a point of margin.
  lo0 = Math.floor(lo0 / s) * s - s; lo1 = Math.floor(lo1 / s) * s - s;
  hi0 = Math.ceil(hi0 / s) * s + s; hi1 = Math.ceil(hi1 / s) * s + s;
  const nx = (hi0 - lo0) / s + 1;
  const ny = (hi1 - lo1) / s + 1;
  const values = new Float32Array(nx * ny).fill(-30);
  for (let k = 0; k < cells.p.length; k++) {
    const value = cells.lj[k] - top;
    if (value < -30) continue;
    const ix = cells.p[k] % n;
    const iy = (cells.p[k] - ix) / n;
    const reach = (strides[cells.level[k]] - 1) / 2;
    const y0 = Math.max(0, Math.ceil((iy - reach - lo1) / s));
    const y1 = Math.min(ny - 1, Math.floor((iy + reach - lo1) / s));
    const x0 = Math.max(0, Math.ceil((ix - reach - lo0) / s));
    const x1 = Math.min(nx - 1, Math.floor((ix + reach - lo0) / s));
    for (let y = y0; y <= y1; y++) {
      for (let xx = x0; xx <= x1; xx++) values[y * nx + xx] = value;
    }
  }
  return { z0: -R + lo0 * f, z1: -R + lo1 * f, step: s * f, nx: nx, ny: ny, values: values };
}

// Marching squares: the segments where the raster crosses `level`, as
// quadruples z0, z1, z0', z1'. Corner k of a square is (CX[k], CY[k]) from its
// lower left; edge k joins corners k and k + 1.
const CX = [0, 1, 1, 0];
const CY = [0, 0, 1, 1];
function contour(picture, level) {
  const { nx, ny, values, z0, z1, step } = picture;
  const out = [];
  const corner = new Float64Array(4);
  const edges = [0, 0, 0, 0];
  const point = (x, y, e) => {
    const a = e, b = (e + 1) & 3;
    const t = (level - corner[a]) / (corner[b] - corner[a]);
    out.push(z0 + step * (x + CX[a] + t * (CX[b] - CX[a])), z1 + step * (y + CY[a] + t * (CY[b] - CY[a])));
  };
  for (let y = 0; y + 1 < ny; y++) {
    for (let x = 0; x + 1 < nx; x++) {
      corner[0] = values[y * nx + x];
      corner[1] = values[y * nx + x + 1];
      corner[2] = values[(y + 1) * nx + x + 1];
      corner[3] = values[(y + 1) * nx + x];
      let crossings = 0;
      for (let e = 0; e < 4; e++) {
        if ((corner[e] >= level) !== (corner[(e + 1) & 3] >= level)) edges[crossings++] = e;
      }
      if (crossings === 2) {
        point(x, y, edges[0]); point(x, y, edges[1]);
      } else if (crossings === 4) {
        // A saddle: the centre decides which pair of opposite corners it joins;
        // the segments cut off the other two.
        const centre = (corner[0] + corner[1] + corner[2] + corner[3]) / 4;
        if ((centre >= level) === (corner[0] >= level)) {
          point(x, y, 0); point(x, y, 1); point(x, y, 2); point(x, y, 3);
        } else {
          point(x, y, 3); point(x, y, 0); point(x, y, 1); point(x, y, 2);
        }
      }
    }
  }
  return new Float32Array(out);
}

// The logits at codes z near a base code b, from those at b: the hidden units
// that stay on or off between b and z change linearly, so
//   l(z) = l(b) + G (z - b) + sum over switched units j of (+-a_j(z)) W2[:, j],
// with G = W2 D W1 summing the output rows of the units active at b. Exact up to
// rounding, for the cost of a few output rows per code instead of hundreds.
function logitsNear(decoder, b0, b1) {
  const { H, P, wT, w0, w1 } = decoder;
  const base = new Float64Array(P);
  const a = new Float64Array(H);
  decoder.logits(b0, b1, base, a);
  const g0 = new Float64Array(P);
  const g1 = new Float64Array(P);
  for (let j = 0; j < H; j++) {
    if (a[j] <= 0) continue;
    const row = j * P;
    for (let i = 0; i < P; i++) {
      g0[i] += w0[j] * wT[row + i];
      g1[i] += w1[j] * wT[row + i];
    }
  }
  return (z0, z1, l) => {
    const d0 = z0 - b0;
    const d1 = z1 - b1;
    for (let i = 0; i < P; i++) l[i] = base[i] + d0 * g0[i] + d1 * g1[i];
    for (let j = 0; j < H; j++) {
      const after = a[j] + w0[j] * d0 + w1[j] * d1;
      if (a[j] > 0 === after > 0) continue;
      // Switched on: add a_j(z); switched off: take away the linear change assumed, to 0.
      const change = after > 0 ? after : -after;
      const row = j * P;
      for (let i = 0; i < P; i++) l[i] += change * wT[row + i];
    }
    return l;
  };
}

// The ELBO of q(z|x), E_q[log p(x|z)] - KL(q || p(z)), with the reconstruction
// term averaged over the codes z = mu + sigma * eps for the fixed eps of
// explorer.json (a set with the mean and covariance of N(0, I)), the KL exact.
function elbo(model, x) {
  const { decoder, encoder } = model;
  const q = encoder.params(x);
  const near = logitsNear(decoder, q.mu[0], q.mu[1]);
  const l = new Float64Array(decoder.P);
  const at = (z0, z1) => bernoulliLogLikelihood(x, near(z0, z1, l));
  if (!q.logvar) return { mu: q.mu, logvar: null, reconstruction: at(q.mu[0], q.mu[1]) };
  const sigma = q.logvar.map((v) => Math.exp(0.5 * v));
  let total = 0;
  for (const e of config.elbo_eps) total += at(q.mu[0] + sigma[0] * e[0], q.mu[1] + sigma[1] * e[1]);
  const reconstruction = total / config.elbo_eps.length;
  let kl = 0;
  for (let d = 0; d < 2; d++) kl += 0.5 * (q.mu[d] * q.mu[d] + Math.exp(q.logvar[d]) - 1 - q.logvar[d]);
  return { mu: q.mu, logvar: q.logvar, reconstruction: reconstruction, kl: kl, elbo: reconstruction - kl };
}

function analyze(name, x) {
  const model = models[name];
  if (model.warming) warm(model);  // the chosen model warms first
  const started = performance.now();
  const result = { name: name, kind: model.spec.kind };
  if (model.encoder) Object.assign(result, elbo(model, x));
  result.elboMs = performance.now() - started;
  if (model.spec.kind !== "ae") {
    result.posterior = posterior(model, x);
    result.logpx = result.posterior.logpx;
    if (result.elbo !== undefined) result.gap = result.logpx - result.elbo;
  }
  result.ms = performance.now() - started;
  return result;
}

self.onmessage = (event) => {
  const m = event.data;
  try {
    if (m.type === "config") {
      setConfig(m.config);
      self.postMessage({ type: "loaded", id: m.id });
    } else if (m.type === "decoder") {
      const ms = loadDecoder(m.name, m.spec, m.buffer);
      self.postMessage({ type: "loaded", id: m.id, name: m.name, part: "decoder", ms: ms });
    } else if (m.type === "encoder") {
      loadEncoder(m.name, m.spec, m.buffer);
      self.postMessage({ type: "loaded", id: m.id, name: m.name, part: "encoder" });
    } else if (m.type === "analyze") {
      const result = analyze(m.name, m.x);
      result.id = m.id;
      const transfer = [];
      if (result.posterior) {
        transfer.push(result.posterior.raster.values.buffer);
        for (const c of result.posterior.contours) transfer.push(c.buffer);
      }
      self.postMessage({ type: "result", id: m.id, result: result }, transfer);
    }
  } catch (error) {
    self.postMessage({ type: "error", id: m.id, message: String(error && error.stack || error) });
  }
};
