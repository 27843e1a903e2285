"""Exports the three 2-D models of part 1 for the live explorer page.

The explorer (docs/javascripts/explorer-ui.js, explorer-worker.js) runs the
encoders and decoders in the browser, so it needs their weights: for each model
they are written as float16, little-endian, one array after another, decoder
and encoder in separate files, with a JSON index of names, shapes and offsets.
A model's files load only when a reader chooses it, the encoder only when a
digit is first drawn or picked. Because the weights come from the same trained
models as every other figure, the explorer cannot drift.

`explorer.json`, which the page loads first, holds what every model shares: the
test digits' classes, the integration grid, the fixed eps of the ELBO, and
what each model costs to load. The test digits themselves, binarized as the
models see them, are one bit per pixel in `test-digits.bin`.

The page computes the true posterior p(z|x) ∝ p(x|z) p(z) on a grid over
[-EXTENT, EXTENT]^2: a coarse pass with cells COARSE_STEP wide, then up to
LEVELS refinements, each splitting the cells that hold the posterior's mass
into REFINE x REFINE smaller ones (see explorer-worker.js).
"""

import json

import numpy as np
import torch

from vae.data import test_inputs
from vae.models import LOGVAR_LIMIT
from vae.words import ordinal

PAGE = "explorer.md"
MODELS = ("ae-2d", "noisy-ae-2d", "vae-2d")
LABELS = {"ae-2d": "Autoencoder", "noisy-ae-2d": "Noisy autoencoder", "vae-2d": "VAE"}
DEFAULT = "vae-2d"  # the model the page opens with; its decoder loads with the page

# The integration grid of the posterior (read by the page from explorer.json).
EXTENT = 8.0  # the grid covers [-EXTENT, EXTENT]^2, where the prior is e^-32 of its peak
COARSE_STEP = 0.25  # width of a coarse cell
REFINE = 3  # each refinement splits a cell into REFINE x REFINE
LEVELS = 2  # refinements at most: the finest cell is COARSE_STEP / REFINE**LEVELS
TAIL_MASS = 0.01  # the cells left unrefined hold at most this share of the mass
STD_CELLS = 2.0  # refine while the posterior is narrower than this many cells
CONTOUR_MASSES = (0.5, 0.9, 0.99)  # p(z|x)'s shaded regions hold these shares, as in part 2
Q_MASSES = (0.5, 0.9)  # q(z|x)'s ellipses hold these shares of it, as part 2 draws them

# The reconstruction term averages log p(x|z) over the codes z = mu + sigma * eps
# for a fixed set of eps: ELBO_DIRECTIONS directions on each of ELBO_RINGS circles.
ELBO_RINGS = 8
ELBO_DIRECTIONS = 8
DESIGN_CHECK_DIGITS = 20  # test digits on which the set is checked against quadrature
INK_THRESHOLD = 0.5  # a drawn pixel is 1 when more than this share of it is inked
ROUNDING_GRID = 41  # codes per axis for the half-precision check over the grid


def percentages(shares):
    """Shares as the prose lists them: '50 %, 90 % and 99 %'."""
    words = [f"{100 * m:g} %" for m in shares]
    return ", ".join(words[:-1]) + " and " + words[-1]


def weights(model):
    """The model's parameters as float64 numpy arrays, rounded to float16."""
    state = model.state_dict()
    return {k: v.detach().to(torch.float16).numpy() for k, v in state.items()}


def decoder_mean(t, z):
    """E[x|z] for codes z (N, 2), in float64, from the weights t: (N, pixels)."""
    t = {k: v.astype(np.float64) for k, v in t.items()}
    h = np.maximum(z @ t["decoder.body.0.weight"].T + t["decoder.body.0.bias"], 0)
    logits = h @ t["decoder.output.weight"].T + t["decoder.output.bias"]
    return 1 / (1 + np.exp(-logits))


def log_likelihood(t, x, z):
    """log p(x|z) of a binary image x (pixels,) at codes z (N, 2), in float64: (N,)."""
    t = {k: v.astype(np.float64) for k, v in t.items()}
    h = np.maximum(z @ t["decoder.body.0.weight"].T + t["decoder.body.0.bias"], 0)
    logits = h @ t["decoder.output.weight"].T + t["decoder.output.bias"]
    return logits @ x - np.logaddexp(0, logits).sum(1)


def check_design(t, x, mu, logvar, eps, nodes=20):
    """How far the average over the eps design is from E_q[log p(x|z)], per image,
    and how far the average over as many random draws would typically be.

    The reference is Gauss-Hermite quadrature with nodes x nodes points.

    Returns:
        (largest error of the design, median standard deviation of random draws).
    """
    node, weight = np.polynomial.hermite_e.hermegauss(nodes)
    weight = weight / weight.sum()
    grid = np.stack(np.meshgrid(node, node), -1).reshape(-1, 2)
    weights = np.outer(weight, weight).reshape(-1)
    errors, spreads = [], []
    for b in range(len(x)):
        sigma = np.exp(0.5 * logvar[b])
        exact = log_likelihood(t, x[b], mu[b] + sigma * grid)
        mean = weights @ exact
        variance = weights @ (exact - mean) ** 2
        errors.append(abs(log_likelihood(t, x[b], mu[b] + sigma * eps).mean() - mean))
        spreads.append(np.sqrt(variance / len(eps)))
    return float(np.max(errors)), float(np.median(spreads))


def encoder_params(t, x):
    """(mu, logvar or None) of q(z|x) for flat images x (N, pixels), in float64."""
    t = {k: v.astype(np.float64) for k, v in t.items()}
    h = np.maximum(x @ t["encoder.body.0.weight"].T + t["encoder.body.0.bias"], 0)
    mu = h @ t["encoder.mean.weight"].T + t["encoder.mean.bias"]
    if "encoder.logvar.weight" not in t:
        return mu, None
    logvar = h @ t["encoder.logvar.weight"].T + t["encoder.logvar.bias"]
    return mu, np.clip(logvar, -LOGVAR_LIMIT, LOGVAR_LIMIT)


def epsilon_design(rings, directions):
    """A fixed set of eps spread evenly over N(0, I), with its mean and covariance.

    |eps|^2 / 2 is exponentially distributed; ring k holds the k-th of `rings`
    equal shares of that distribution, at the radius whose square is the share's
    mean, so that the set's mean of |eps|^2 is exactly 2. Each ring has
    `directions` equally spaced directions, every other ring turned by half a
    step. The set has mean 0 and covariance I, so the average over it is exact
    for any quadratic function of z, where random draws are exact for none.

    Returns:
        Array of shape (rings * directions, 2).
    """
    share = np.arange(rings + 1) / rings
    survival = 1 - share  # e^-t at the share boundaries of t = |eps|^2 / 2
    inner = survival > 0  # the last boundary is t = infinity
    t_survival = np.zeros(rings + 1)  # t e^-t there, which is 0 at infinity
    t_survival[inner] = -np.log(survival[inner]) * survival[inner]
    # E[t | a < t < b] for t ~ Exp(1): (a e^-a - b e^-b) / (e^-a - e^-b) + 1
    t = (t_survival[:-1] - t_survival[1:]) / (survival[:-1] - survival[1:]) + 1
    radius = np.sqrt(2 * t)
    k, m = np.meshgrid(np.arange(rings), np.arange(directions), indexing="ij")
    angle = 2 * np.pi * (m + 0.5 * (k % 2)) / directions
    return np.stack([radius[k] * np.cos(angle), radius[k] * np.sin(angle)], -1).reshape(-1, 2)


def export_part(ctx, name, half, part):
    """Writes one part's float16 arrays as NAME-PART.bin; returns its index entry."""
    chunks, index, offset = [], [], 0
    for key, array in half.items():
        if not key.startswith(part + "."):
            continue
        data = array.astype("<f2").tobytes()
        chunks.append(data)
        index.append({"name": key, "shape": list(array.shape), "offset": offset})
        offset += len(data)
    filename = f"{name}-{part}.bin"
    ctx.save(filename, b"".join(chunks))
    return {"file": filename, "bytes": offset, "tensors": index}


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    x, index, rounding = None, [], 0.0
    eps = epsilon_design(ELBO_RINGS, ELBO_DIRECTIONS)
    axis = np.linspace(-EXTENT, EXTENT, ROUNDING_GRID)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    for name in MODELS:
        run = ctx.model(name)
        config = run.config.model
        if len(config.hidden_sizes) != 1 or config.latent_dim != 2:
            raise ValueError(f"{name}: the explorer runs 2-D codes and one hidden layer")
        if config.likelihood != "bernoulli":
            raise ValueError(f"{name}: the explorer computes Bernoulli likelihoods only")
        inputs = test_inputs(dataset, run.config.data.binarize).flatten(start_dim=1)
        if x is None:
            x = inputs.numpy()
        elif not np.array_equal(x, inputs.numpy()):
            raise ValueError("the explorer shows one set of test digits: binarize them alike")

        half = weights(run.model)
        parts = {part: export_part(ctx, name, half, part) for part in ("decoder", "encoder")}
        mu, logvar = encoder_params(half, x)
        spec = {
            "name": name,
            "kind": config.kind,
            "dtype": "float16",
            "parts": parts,
            "logvar_limit": LOGVAR_LIMIT,
            # The noisy autoencoder's q(z|x) has one fixed sigma; the VAE's encoder
            # outputs a log-variance; the autoencoder's q is a point.
            "noise_sigma": config.noise_sigma if config.kind == "noisy-ae" else None,
            "points": np.round(mu, 3).tolist(),
        }
        ctx.save(f"{name}.json", (json.dumps(spec, separators=(",", ":")) + "\n").encode())

        full = {k: v.detach().double().numpy() for k, v in run.model.state_dict().items()}
        change = np.abs(decoder_mean(full, grid) - decoder_mean(half, grid)).max()
        rounding = max(rounding, float(change))

        key = name.replace("-", "_")
        sizes = {part: parts[part]["bytes"] for part in parts}
        index.append(
            {"name": name, "label": LABELS[name], "kind": config.kind, "file": f"{name}.json"}
            | {"bytes": sizes}
        )
        ctx.number(f"{key}_decoder_mb", sizes["decoder"] / 1e6)
        ctx.number(f"{key}_encoder_mb", sizes["encoder"] / 1e6)
        if config.kind == "vae":
            ctx.number(f"{key}_median_sigma", float(np.median(np.exp(0.5 * logvar))))
            check = slice(None, None, len(x) // DESIGN_CHECK_DIGITS)
            error, spread = check_design(half, x[check], mu[check], logvar[check], eps)
            ctx.number("elbo_design_error", error)
            ctx.number("elbo_random_spread", spread)
            ctx.number("elbo_check_digits", len(x[check]))
        if config.kind == "noisy-ae":
            ctx.number("sigma_0", config.noise_sigma)

    digits = np.packbits(x > 0.5, axis=1)  # (N, pixels / 8), most significant bit first
    ctx.save("test-digits.bin", digits.tobytes())

    shared = {
        "models": index,
        "default": DEFAULT,
        "image_shape": list(dataset.test_images.shape[1:]),
        "digits": {"file": "test-digits.bin", "count": len(x), "bytes": digits.nbytes},
        "labels": dataset.test_labels.tolist(),
        "class_names": list(dataset.class_names),
        "grid": {
            "extent": EXTENT,
            "step": COARSE_STEP,
            "refine": REFINE,
            "levels": LEVELS,
            "tail_mass": TAIL_MASS,
            "std_cells": STD_CELLS,
        },
        "contour_masses": list(CONTOUR_MASSES),
        "q_masses": list(Q_MASSES),
        "elbo_eps": eps.tolist(),
        "ink_threshold": INK_THRESHOLD,
    }
    ctx.save("explorer.json", (json.dumps(shared, separators=(",", ":")) + "\n").encode())

    ctx.number("rounding_max_pixel_change", rounding)
    ctx.number("rounding_extent", EXTENT)
    ctx.number("grid_extent", EXTENT)
    ctx.number("edge_nats", EXTENT**2 / 2)  # -log of the prior's density at the edge, relative
    ctx.number("coarse_step", COARSE_STEP)
    ctx.number("coarse_points", int(2 * EXTENT / COARSE_STEP + 1) ** 2)
    ctx.number("refine", REFINE)
    ctx.number("levels", LEVELS)
    ctx.number("fine_step", COARSE_STEP / REFINE**LEVELS)
    ctx.number("uniform_fine_points", int(2 * EXTENT / COARSE_STEP * REFINE**LEVELS + 1) ** 2)
    ctx.number("tail_mass", TAIL_MASS)
    ctx.number("std_cells", STD_CELLS)
    ctx.words("contour_masses", percentages(CONTOUR_MASSES))
    ctx.words("q_masses", percentages(Q_MASSES))
    ctx.number("elbo_samples", ELBO_RINGS * ELBO_DIRECTIONS)
    ctx.number("elbo_rings", ELBO_RINGS)
    ctx.words("elbo_ring_share", ordinal(ELBO_RINGS))
    ctx.number("elbo_directions", ELBO_DIRECTIONS)
    ctx.number("ink_threshold", INK_THRESHOLD)
    ctx.number("digits_mb", digits.nbytes / 1e6)
