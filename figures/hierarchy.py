"""A two-level VAE: a second 2-D code u ~ N(0, I) above z, with z ~ p(z|u) and
a second encoder q(u|z) (`vae.priors.HierarchicalPrior`), against the VAE.

Its prior over z, p(z) = integral of p(z|u) p(u) du, is taken on a grid over
u, which this script checks against importance sampling with q(u|z) at the
test digits' codes. The rate splits by layer: the top layer's is
KL(q(u|z) || N(0, I)), in closed form; the rest is z's. Its log p(x), bound
and gaps are scored with the other 2-D models in figures/extension_scores.py.

Left: the learned p(z), with the test digits' codes. Right: the VAE's prior
N(0, I), with its codes. Each prior is drawn as the contours that enclose
MASSES of it.
"""

import math

import numpy as np
import torch

from vae import objectives
from vae.data import test_inputs
from vae.errors import VAEError
from vae.gaps import top_layer_gap
from vae.priors import closest_gaussian
from vae.site import plotting
from vae.site.experiments import ACTIVE_NATS
from vae.words import count_words

PAGE = "extensions.md"
MODELS = ("vae-2d-hierarchy", "vae-2d")
CHECK_STRIDE = 5  # the check of the grid over u is made at every fifth test digit's code
CHECK_DRAWS = 2000  # importance samples per code for that check
HARDLY = 0.1  # a top layer with less than this share of the whole rate ...
HARDLY_NATS = 0.5  # ... and less than this many nats is "hardly used"
GRID_POINTS = 161  # per axis, where each prior's density is drawn
FIT_STEP = 0.2  # cells of that comparison's grid: its KL moves by under 0.001 nats from 0.1
FIT_SHARE = 0.99  # the prior's mass outside the closest Gaussian's ellipse of this mass
GRID_LOSS = 1e-3  # the grid of that comparison may miss at most this much of the prior
MASSES = (0.5, 0.9, 0.99)  # each prior's contours enclose these shares of it
SEED = 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vae-2d-hierarchy")
    model, prior = run.model, run.model.prior
    x = test_inputs(dataset, run.config.data.binarize)
    generator = torch.Generator().manual_seed(SEED)

    # The rate of each layer, at one code z ~ q(z|x) of every test digit.
    with torch.no_grad():
        q = model.encode(x)
        z = model.sample_posterior(q, generator)
        up = prior.up(z)
        top = objectives.gaussian_kl_per_dimension(up.mu, up.logvar)  # (N, 2)
        total = model.kl(q, z, q.log_prob(z), generator)
    top_rate, bottom_rate = float(top.sum(1).mean()), float((total - top.sum(1)).mean())
    ctx.number("top_rate", top_rate)
    ctx.number("bottom_rate", bottom_rate)
    share = top_rate / (top_rate + bottom_rate)
    # The reading below holds if the top layer carries little, both as a share of the
    # rate and in nats, and its encoder misses little: its loss, `top_layer_gap`
    # (scored on the table in extension_scores), under ACTIVE_NATS.
    missed = float(top_layer_gap(model, x[::CHECK_STRIDE], generator).mean())
    hardly = share < HARDLY and top_rate < HARDLY_NATS
    ctx.words("top_use", "hardly used" if hardly else "used")
    ctx.words(
        "reading",
        "With so little in the top code, a digit's code says little about it; since the top "
        "encoder also misses little (its loss is in the next paragraph), the prior over z "
        "can then barely depend on the top code, and should be close to p(z|u) at a typical "
        "u: a Gaussian with a learned mean and a spread per axis, which the VAE's networks "
        "could match by shifting and scaling their code."
        if hardly and missed < ACTIVE_NATS
        else "What the top layer can do is shape the prior over z towards the codes, the job "
        "the VampPrior did; the figure shows how far it does.",
    )
    fit = closest_gaussian(prior.log_density, step=FIT_STEP, share=FIT_SHARE)
    if fit.mass < 1 - GRID_LOSS:
        raise VAEError(f"hierarchy: the grid holds only {fit.mass:.4f} of the prior")
    ctx.number("closest_kl", fit.kl)
    ctx.number("outside_percent", 100 * fit.outside)
    ctx.number("ellipse_percent", round(100 * FIT_SHARE))
    ctx.number("gaussian_outside_percent", round(100 * (1 - FIT_SHARE)))
    ctx.words("tails", "heavier than" if fit.outside > 1 - FIT_SHARE else "no heavier than")
    per_dimension = top.mean(0).sort(descending=True).values
    above = int((per_dimension > ACTIVE_NATS).sum())
    ctx.words("top_active_words", above_words(above, top.shape[1]))
    ctx.number("top_kl_first", float(per_dimension[0]))
    ctx.number("top_kl_second", float(per_dimension[1]))
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("top_dim", top.shape[1])

    # The grid over u against importance sampling with q(u|z), at the codes' means.
    with torch.no_grad():
        points = q.mu[::CHECK_STRIDE]
        draws = torch.stack(
            [prior.log_density_sample(points, None, generator) for _ in range(CHECK_DRAWS)]
        ).double()
        sampled = torch.logsumexp(draws, 0) - math.log(CHECK_DRAWS)
        on_grid = prior.log_density(points.double())
    ctx.number("check_draws", CHECK_DRAWS)
    ctx.number("check_codes", len(points))
    ctx.number("check_max", float((sampled - on_grid).abs().max()))
    shares = [f"{100 * m:g} %" for m in MASSES]
    ctx.words("masses", ", ".join(shares[:-1]) + " and " + shares[-1])
    models = {"two levels": model, "VAE": ctx.model("vae-2d").model}
    figure(ctx, models, x, dataset.test_labels, dataset.class_names)


def above_words(above: int, dims: int) -> str:
    """How many of the top layer's dimensions are above the line, after "...at 0.10: "."""
    if above == 0:
        return "neither of them is above it" if dims == 2 else "none of them is above it"
    if above == dims:
        return "both are above it" if dims == 2 else "all of them are above it"
    return f"{count_words(above)} of them above it, {count_words(dims - above)} below"


def mass_levels(density, cell):
    """The densities whose contours enclose each share of MASSES of a density on a
    grid of cells of area `cell`, increasing (as `contour` wants them)."""
    values = np.sort(density.ravel())[::-1]
    mass = np.cumsum(values) * cell
    last = len(values) - 1  # a prior wider than the grid: its outermost point
    return sorted({float(values[min(np.searchsorted(mass, share), last)]) for share in MASSES})


def figure(ctx, models, x, labels, class_names):
    """Each model's prior over z as contours, over its test codes, on shared axes."""
    with torch.no_grad():
        codes = {title: m.encode(x).mu.numpy() for title, m in models.items()}
    spread = {title: float(np.sqrt((c**2).sum(1).mean())) for title, c in codes.items()}
    ctx.number("spread_ratio", spread["two levels"] / spread["VAE"])
    limit = plotting.map_limit(*codes.values())
    axis = torch.linspace(-limit, limit, GRID_POINTS, dtype=torch.float64)
    zz = torch.cartesian_prod(axis, axis)
    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 4.2))
    cell = float(axis[1] - axis[0]) ** 2
    for ax, (title, model) in zip(axes, models.items(), strict=True):
        plotting.latent_scatter(ax, codes[title], labels.numpy(), title, limit)
        with torch.no_grad():
            density = torch.exp(model.log_prior(zz)).view(GRID_POINTS, GRID_POINTS).T.numpy()
        ax.contour(
            axis.numpy(), axis.numpy(), density, levels=mass_levels(density, cell),
            colors=plotting.INK, linewidths=(0.7, 1.1, 1.6),
        )  # fmt: skip
    axes[1].set_ylabel("")
    plotting.class_legend(fig, class_names)
    plotting.check_text_size(fig)
    ctx.save("hierarchy.svg", plotting.svg_bytes(fig))
