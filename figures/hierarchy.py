"""A two-level VAE: a second 2-D code u ~ N(0, I) above z, with z ~ p(z|u) and
a second encoder q(u|z) (`vae.priors.HierarchicalPrior`), against the VAE.

Its prior over z, p(z) = integral of p(z|u) p(u) du, is taken on a grid over
u, so log p(x) is still exact (`vae.exact`, a grid over z around that). The
bound it trains is lower than the ELBO of its q(z|x) under that exact prior by
E_q[KL(q(u|z) || p(u|z))], a third gap above the split into approximation
and amortization (`vae.gaps`): the inference gap of the top layer, measured
as log p(z) on the grid minus the mean of many draws of its bound. The rate
splits by layer: the top layer's is KL(q(u|z) || N(0, I)), in closed form.
The grid over u is checked against importance sampling with q(u|z) at the
test digits' codes.

Left: the learned p(z), with the test digits' codes. Right: each model's gap,
split into its parts.
"""

import math

import numpy as np
import torch

from vae import exact, objectives
from vae.data import test_inputs
from vae.gaps import inference_gaps
from vae.site import plotting
from vae.site.experiments import ACTIVE_NATS
from vae.stats import mean_and_se
from vae.words import compare_words

PAGE = "extensions.md"
MODELS = ("vae-2d-hierarchy", "vae-2d")
STRIDE = {"quick": 25, "full": 5}  # every STRIDE-th test digit, as in extension_scores
GRIDS = {"quick": exact.Grid(refine=2), "full": exact.Grid()}
CODES = 64  # codes z ~ q(z|x) per digit for the top layer's gap
TOP_DRAWS = 64  # draws u ~ q(u|z) per code for its bound
CHECK_DRAWS = 2000  # importance samples per code for the check of the grid over u
TIES, SEED = 2, 0
HARDLY = 0.1  # a top layer with less than this share of the whole rate is "hardly used"
PARTS = (
    ("approximation", "approximation", "#607d8b"),
    ("amortization", "amortization", "#d84315"),
    ("top", "top layer q(u|z)", "#f9a825"),
)


def top_gap(model, x, generator):
    """E_q(z|x)[KL(q(u|z) || p(u|z))] per digit: log p(z) on the grid minus the mean
    of TOP_DRAWS draws of its bound, at CODES codes z ~ q(z|x) each. Both terms are
    taken at the same codes, so the difference is far less noisy than the bound's
    Monte Carlo estimate against the grid's ELBO. Zero for the VAE: no top layer."""
    if model.prior is None:
        return torch.zeros(len(x), dtype=torch.float64)
    with torch.no_grad():
        z, _ = model.sample_codes(model.encode(x), generator, CODES)  # (S, B, 2)
        bound = torch.stack(
            [model.prior.log_density_sample(z, None, generator) for _ in range(TOP_DRAWS)]
        ).mean(0)
        return (model.prior.log_density(z.double()) - bound.double()).mean(0)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run, base = ctx.model("vae-2d-hierarchy"), ctx.model("vae-2d")
    model, prior = run.model, run.model.prior
    x = test_inputs(dataset, run.config.data.binarize)[:: STRIDE[ctx.profile]]
    generator = torch.Generator().manual_seed(SEED)
    grid = GRIDS[ctx.profile]
    scores = {}
    for key, r in (("hierarchy", run), ("vae", base)):
        gaps = inference_gaps(r.model, x, grid)
        top = top_gap(r.model, x, generator)
        scores[key] = {
            "log_px": gaps.log_px,
            "elbo": gaps.elbo - top,  # the bound it trains
            "gap": gaps.gap + top,
            "approximation": gaps.approximation,
            "amortization": gaps.amortization,
            "top": top,
        }
    del scores["vae"]["top"]  # zero: the VAE has no top layer
    for key, s in scores.items():
        for quantity, values in s.items():
            mean, se = mean_and_se(values)
            ctx.number(f"{key}_{quantity}", mean)
            ctx.number(f"{key}_{quantity}_se", se)
    for quantity in ("log_px", "elbo", "amortization"):
        difference, se = mean_and_se(scores["hierarchy"][quantity] - scores["vae"][quantity])
        ctx.number(f"d_{quantity}", difference)
        ctx.number(f"d_{quantity}_se", se)
        ctx.words(f"{quantity}_words", compare_words(difference, se, TIES))

    # The rate of each layer, at codes z ~ q(z|x) of every test digit.
    everything = test_inputs(dataset, run.config.data.binarize)
    with torch.no_grad():
        q = model.encode(everything)
        z = q.mu + torch.exp(0.5 * q.logvar) * torch.randn(q.mu.shape, generator=generator)
        up = prior.up(z)
        top = objectives.gaussian_kl_per_dimension(up.mu, up.logvar)  # (N, 2)
        total = model.kl(q, z, q.log_prob(z), generator)
    top_rate, bottom_rate = float(top.sum(1).mean()), float((total - top.sum(1)).mean())
    ctx.number("top_rate", top_rate)
    ctx.number("bottom_rate", bottom_rate)
    share = top_rate / (top_rate + bottom_rate)
    ctx.words("top_use", "hardly used" if share < HARDLY else "used")
    ctx.number("top_active", int((top.mean(0) > ACTIVE_NATS).sum()))
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("top_dim", top.shape[1])

    # The grid over u against importance sampling with q(u|z), at the codes' means.
    with torch.no_grad():
        points = model.encode(x).mu
        draws = torch.stack(
            [prior.log_density_sample(points, None, generator) for _ in range(CHECK_DRAWS)]
        ).double()
        sampled = torch.logsumexp(draws, 0) - math.log(CHECK_DRAWS)
        on_grid = prior.log_density(points.double())
    ctx.number("check_draws", CHECK_DRAWS)
    ctx.number("check_max", float((sampled - on_grid).abs().max()))
    ctx.number("digits", len(x))
    ctx.number("codes", CODES)
    ctx.number("top_draws", TOP_DRAWS)
    figure(ctx, model, everything, dataset.test_labels, scores)


def figure(ctx, model, x, labels, scores):
    fig, (left, right) = plotting.figure(
        1, 2, figsize=(plotting.CONTENT_WIDTH, 3.4), width_ratios=(1, 1.2)
    )
    with torch.no_grad():
        codes = model.encode(x).mu.numpy()
    limit = plotting.map_limit(codes)
    axis = torch.linspace(-limit, limit, 161, dtype=torch.float64)
    zz = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        density = torch.exp(model.log_prior(zz)).view(len(axis), len(axis)).T.numpy()
    left.imshow(density, extent=(-limit, limit, -limit, limit), origin="lower", cmap="Greys")
    plotting.latent_scatter(left, codes, labels.numpy(), "learned p(z), and codes", limit)
    rows = np.arange(2)[::-1]
    start = np.zeros(2)
    for key, label, color in PARTS:
        widths = np.array(
            [float(scores[k].get(key, torch.zeros(1)).mean()) for k in ("vae", "hierarchy")]
        )
        right.barh(rows, widths, left=start, color=color, label=label)
        start += widths
    right.set(yticks=rows, yticklabels=["VAE", "two levels"], xlabel="nats")
    right.set_title("gap log p(x) − bound", loc="left")
    right.legend(loc="upper left", bbox_to_anchor=(0.0, -0.25), ncols=1)
    plotting.check_text_size(fig)
    ctx.save("hierarchy.svg", plotting.svg_bytes(fig))
