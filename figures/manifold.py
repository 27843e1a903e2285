"""The 2-D VAE's decoder evaluated on a square grid of codes that covers the
test digits' codes. The axes give each code's coordinates z_1, z_2 and, at the
top and right, the prior's quantile Phi(z_j) at that coordinate."""

import math

import numpy as np
import torch
from matplotlib.ticker import FixedLocator

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("vae-2d",)
SIDE = 20  # decoded images per row and per column
COVER = 0.99  # the grid's half-width is rounded up from this quantile of max(|z_1|, |z_2|)
STEP = 0.5  # ... to a multiple of STEP


def phi(z):
    """The standard normal's cumulative distribution function."""
    return 0.5 * (1 + np.vectorize(math.erf)(np.asarray(z, dtype=float) / math.sqrt(2)))


def percent(p: float) -> str:
    """p as a percentage, with as many decimals as it takes to tell it from 0 or 100%."""
    tail = min(p, 1 - p)
    decimals = 0 if tail >= 0.01 else 1 if tail >= 0.001 else 3
    return f"{100 * p:.{decimals}f}%"


def outer_words(share: float, labels: list[int], names: list[str]) -> str:
    """How many of the test digits' codes fall in the grid's outer rows and columns,
    and of which classes (`labels`, one per code there)."""
    if not labels:
        return "none of the test digits' codes fall there"
    counts = sorted(((labels.count(c), c) for c in set(labels)), reverse=True)
    classes = [f'"{names[c]}"s' for _, c in counts]
    if len(classes) == 1:
        which = f"all of them {classes[0]}"
    elif counts[0][0] > len(labels) / 2:
        which = f"most of them {classes[0]}"
    elif len(classes) <= 3:
        which = f"among them {', '.join(classes[:-1])} and {classes[-1]}"
    else:
        which = f"among them {', '.join(classes[:3])} and others"
    return f"{share:.1%} of the test digits' codes fall there, {which}"


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vae-2d")
    with torch.no_grad():
        mu = run.model.encode(test_inputs(dataset, run.config.data.binarize)).mu
    reach = mu.abs().max(dim=1).values  # (N,) the half-width of the smallest square holding each
    half = STEP * math.ceil(float(torch.quantile(reach, COVER)) / STEP)
    cell = 2 * half / SIDE
    centres = torch.linspace(-half + cell / 2, half - cell / 2, SIDE)
    z2, z1 = torch.meshgrid(centres.flip(0), centres, indexing="ij")  # top row: largest z2
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    with torch.no_grad():
        images = run.model.decode_mean(z).numpy()
    tiles = np.rint(plotting.image_grid(images, SIDE, pad=0) * 15) / 15  # sixteen gray levels

    fig, ax = plotting.figure(figsize=(plotting.CONTENT_WIDTH, 7.0))
    ax.imshow(
        1.0 - tiles,
        cmap="gray",
        vmin=0,
        vmax=1,
        extent=(-half, half, -half, half),
        interpolation="none",
    )
    ticks = np.arange(-math.floor(half), math.floor(half) + 1)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    for side, axis in (("top", "x"), ("right", "y")):
        secondary = (ax.secondary_xaxis if axis == "x" else ax.secondary_yaxis)(side)
        secondary_axis = secondary.xaxis if axis == "x" else secondary.yaxis
        # The edge's quantiles would crowd their neighbours' labels: only the inner ticks.
        inner = ticks[np.abs(ticks) < half]
        secondary_axis.set_major_locator(FixedLocator(inner))
        secondary_axis.set_ticklabels([percent(p) for p in phi(inner)])
        label = rf"prior quantile $\Phi(z_{1 if axis == 'x' else 2})$"
        (secondary.set_xlabel if axis == "x" else secondary.set_ylabel)(label)
    ax.spines[["top", "right"]].set_visible(True)
    plotting.check_text_size(fig)
    ctx.save("vae-2d.svg", plotting.svg_bytes(fig))

    inside = (reach <= half).double().mean()
    outer = (reach > half - cell) & (reach <= half)  # codes in the outer rows and columns
    labels = dataset.test_labels[outer].tolist()
    ctx.words("outer_words", outer_words(len(labels) / len(reach), labels, dataset.class_names))
    ctx.number("side", SIDE)
    ctx.number("half_width", half)
    ctx.number("codes_inside", float(inside))
