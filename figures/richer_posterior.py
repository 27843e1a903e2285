"""A richer q(z|x) drawn over the true posterior: the VAE's diagonal Gaussian,
a full-covariance Gaussian and a Gaussian pushed through four affine coupling
layers, each the q of its own model, over that model's p(z|x) of one digit.

The digit is part 2's two-peaked one, chosen by the same rule on the same test
digits (`vae.gaps.choose_digits`): of the posteriors of the VAE with more than
one peak, the one least like any Gaussian. Each model has its own decoder, and
so its own posterior for that digit. q's contours are those of its own density
(`log_prob`), which for the flow is no ellipse, on the cells where the grid
integrates that model's posterior.
"""

import numpy as np
import torch

from vae import exact
from vae.data import test_inputs
from vae.gaps import choose_digits, inference_gaps
from vae.posterior import count_peaks, highest_density_levels
from vae.site import plotting

PAGE = "extensions.md"
PANELS = {  # model: key on the page, panel title
    "vae-2d": ("diagonal", "diagonal $q$"),
    "vae-2d-full": ("full", "full covariance"),
    "vae-2d-flow": ("flow", "flow $q$"),
}
MODELS = ("vae-2d", "vae-2d-full", "vae-2d-flow")  # as PANELS
STRIDE = {"quick": 10, "full": 1}  # the test digits of figures/exact_posterior.py
GRIDS = {"quick": exact.Grid(refine=2), "full": exact.Grid()}
MASSES = (0.5, 0.9)  # contours that enclose these shares of p(z|x) and of q
Q_COLOR = "#d84315"


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    grid = GRIDS[ctx.profile]
    base = ctx.model("vae-2d")
    x = test_inputs(dataset, base.config.data.binarize)[:: STRIDE[ctx.profile]]
    labels = dataset.test_labels[:: STRIDE[ctx.profile]]
    base_gaps = inference_gaps(base.model, x, grid)
    i = choose_digits(base_gaps)["modes"]
    digit = x[i : i + 1]
    ctx.words("digit_label", dataset.class_names[int(labels[i])])
    several = count_peaks(base_gaps.posterior, i) > 1  # else no posterior had two peaks
    ctx.words(
        "digit_rule",
        "of the VAE's posteriors with more than one peak, the one least like a Gaussian"
        if several
        else "the VAE's least Gaussian posterior of all, none having more than one peak",
    )
    fig, (image, *axes) = plotting.figure(
        1, 4, figsize=(plotting.CONTENT_WIDTH, 3.4), width_ratios=(0.55, 1, 1, 1)
    )
    image.imshow(1 - digit[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="none")
    image.set(xticks=[], yticks=[])
    image.spines[:].set_visible(False)
    image.set_title("digit", loc="left")
    for ax, (name, (key, title)) in zip(axes, PANELS.items(), strict=True):
        model = ctx.model(name).model
        gaps = inference_gaps(model, digit, grid)
        ctx.number(f"{key}_gap", gaps.gap[0].item())
        panel(ax, model, digit, gaps.posterior, title)
    axes[0].set_ylabel("$z_2$")
    inner_shade = plotting.plt.Rectangle((0, 0), 1, 1, color="#90a4ae")
    outer_shade = plotting.plt.Rectangle((0, 0), 1, 1, color="#cfd8dc")
    inner = plotting.plt.Line2D([], [], color=Q_COLOR)
    outer = plotting.plt.Line2D([], [], color=Q_COLOR, linestyle="--")
    fig.legend(
        [inner_shade, outer_shade, inner, outer],
        ["$p(z \\mid x)$: 50 %", "90 %", "the model's $q(z \\mid x)$: 50 %", "90 %"],
        loc="outside lower center", ncols=2,
    )  # fmt: skip
    ctx.save("richer-posteriors.svg", plotting.svg_bytes(fig))


def panel(ax, model, digit, posterior, title):
    """p(z|x) shaded by its MASSES regions, q's contours over it, on the fine cells."""
    z1, z2, log_p = exact.posterior_image(posterior, 0)
    area = posterior.step**2
    points = torch.stack(torch.meshgrid(z1, z2, indexing="xy"), dim=-1)  # (n2, n1, 2)
    with torch.no_grad():
        q = model.encode(digit)
        log_q = q.log_prob(points.reshape(-1, 1, 2).float()).reshape(points.shape[:2]).double()
    p_levels = highest_density_levels(log_p, area, MASSES).tolist()
    q_levels = highest_density_levels(log_q, area, MASSES).tolist()
    z1, z2 = z1.numpy(), z2.numpy()
    log_p = np.where(torch.isfinite(log_p).numpy(), log_p.numpy(), -1e9)
    ax.contourf(z1, z2, log_p, levels=[*p_levels, np.inf], colors=["#cfd8dc", "#90a4ae"])
    ax.contour(
        z1, z2, log_q.numpy(), levels=q_levels, colors=Q_COLOR, linewidths=1.4,
        linestyles=["--", "-"],  # the levels ascend: the 90 % contour, then the 50 %
    )  # fmt: skip
    inside = (log_p >= p_levels[0]) | (log_q.numpy() >= q_levels[0])
    ax.set_xlim(z1[inside.any(0)].min() - 0.1, z1[inside.any(0)].max() + 0.1)
    ax.set_ylim(z2[inside.any(1)].min() - 0.1, z2[inside.any(1)].max() + 0.1)
    ax.set_title(title, loc="left")
    ax.set(xlabel="$z_1$")
    ax.set_aspect("equal", adjustable="datalim")  # shapes and tilts as they are
