"""A learned prior against the standard normal: the VAE's aggregate posterior
q(z), the mixture of its training digits' q(z|x), beside its prior p(z), for
the VAE (p(z) = N(0, I)) and for the VAE with a VampPrior (p(z) the mixture of
q(z|u_k) over K learned pseudo-inputs u_k; Tomczak & Welling 2018).

Holes are measured as in part 1 (figures/aggregate_posterior.py): the share of
codes drawn from the model's own prior where q(z) is below a tenth of p(z),
the codes the decoder saw least in training. The pseudo-inputs are drawn too:
the images the prior is made of.
"""

import torch
from matplotlib.colors import LogNorm

from vae.aggregate import hole_indicators, mixture_cell_density
from vae.data import binarize, fixed_generator, to_unit_interval
from vae.posterior import highest_density_levels
from vae.site import plotting
from vae.stats import mean_and_se
from vae.words import compare_words

PAGE = "extensions.md"
MODELS = ("vae-2d", "vae-2d-vamp")
KEYS = {"vae-2d": "normal", "vae-2d-vamp": "vamp"}
PRIOR_SAMPLES = 10_000  # draws from each model's prior
HOLE_RATIO = 0.1  # as in part 1: q(z) below this fraction of p(z) is a hole
GRID_CELLS = 121  # cells per axis of the drawn densities
DENSITY_DECADES = 3  # q(z) is shaded down to 10^-3 of its peak
PRIOR_MASSES = (0.5, 0.9, 0.99)  # the prior's contours enclose these shares
TIES = 2
LIMIT_MARGIN = 1.05  # each panel's half-width, over its farthest code's 3 sd
SEED = 0
PSEUDO_COLUMNS = 10


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    x = binarize(to_unit_interval(dataset.train_images), fixed_generator())
    ctx.number("train_digits", len(x))
    ctx.number("prior_samples", PRIOR_SAMPLES)
    ctx.number("hole_ratio_percent", round(100 * HOLE_RATIO))
    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 4.3))
    models = {name: ctx.model(name).model for name in MODELS}
    with torch.no_grad():
        codes = {name: model.encode(x) for name, model in models.items()}
    holes = {}
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        key = KEYS[name]
        q = codes[name]
        generator = torch.Generator().manual_seed(SEED)
        with torch.no_grad():
            z = model.sample_codes_from_prior(PRIOR_SAMPLES, generator)
            log_prior = model.log_prior(z)
        holes[key] = hole_indicators(q.mu, q.logvar, z, HOLE_RATIO, log_prior)
        share, se = mean_and_se(holes[key])
        ctx.number(f"{key}_holes", 100 * share)
        ctx.number(f"{key}_holes_se", 100 * se)
        # Each panel on its own scale, which holds all of its model's codes.
        limit = LIMIT_MARGIN * float((q.mu.abs() + 3 * torch.exp(0.5 * q.logvar)).max())
        draw(ax, model, q, limit)
        ax.set_title("$N(0, I)$ prior" if key == "normal" else "VampPrior", loc="left")
    axes[0].set_ylabel("$z_2$")
    difference, se = mean_and_se(holes["vamp"] - holes["normal"])  # independent draws
    ctx.words(
        "holes_words",
        compare_words(
            -difference, se, TIES, "less often than", "about as often as", "more often than"
        ),
    )
    line = plotting.plt.Line2D([], [], color=plotting.KL_COLOR)
    shade = plotting.plt.Rectangle((0, 0), 1, 1, color="0.55")
    masses = ", ".join(f"{100 * m:g}" for m in PRIOR_MASSES)
    fig.legend(
        [shade, line], ["aggregate posterior $q(z)$", f"prior $p(z)$: {masses} %"],
        loc="outside lower center", ncols=2,
    )  # fmt: skip
    ctx.save("vamp-prior.svg", plotting.svg_bytes(fig))

    vamp = models["vae-2d-vamp"]
    with torch.no_grad():
        pseudo = vamp.prior.pseudo_inputs()
    ctx.number("components", len(pseudo))
    # Each stretched to the full gray range: a short run moves them only a little
    # from the uniform gray they start as.
    low = pseudo.amin(dim=(1, 2), keepdim=True)
    high = pseudo.amax(dim=(1, 2), keepdim=True)
    spans = (high - low).flatten()  # each image's lightest minus darkest pixel
    ctx.number("pseudo_range", float(spans.median()))
    ctx.number("pseudo_stretch", 1 / float(spans.median()))  # the same image's
    stretched = ((pseudo - low) / (high - low)).numpy()
    ctx.save("vamp-pseudo-inputs.png", plotting.grid_png(stretched, PSEUDO_COLUMNS))


def draw(ax, model, q, limit):
    """q(z) shaded on a log scale, and the contours of p(z) holding PRIOR_MASSES."""
    edges = torch.linspace(-limit, limit, GRID_CELLS + 1, dtype=torch.float64)
    density = mixture_cell_density(edges, q.mu.double(), q.logvar.double()).numpy()
    top = float(density.max())
    norm = LogNorm(vmin=top * 10.0**-DENSITY_DECADES, vmax=top, clip=True)
    ax.imshow(
        density, origin="lower", extent=(-limit, limit, -limit, limit), cmap="Greys",
        norm=norm, alpha=0.8,
    )  # fmt: skip
    centres = (edges[:-1] + edges[1:]) / 2
    grid = torch.stack(torch.meshgrid(centres, centres, indexing="xy"), dim=-1)  # (G, G, 2)
    with torch.no_grad():
        log_p = model.log_prior(grid.float()).double()
    area = float(edges[1] - edges[0]) ** 2
    levels = highest_density_levels(log_p, area, PRIOR_MASSES).tolist()
    c = centres.numpy()
    ax.contour(
        c,
        c,
        log_p.numpy(),
        levels=levels,
        colors=plotting.KL_COLOR,
        linewidths=1.0,
        linestyles="solid",
    )
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel="$z_1$", aspect="equal")
