"""The spread sigma(x) the 2-D VAE's encoder learns for each test digit: by
class, and the digits with the most and the least precise codes.

One number per digit: the geometric mean of sigma_1(x) and sigma_2(x), the
radius of a circle with the area of the 1-sigma ellipse of q(z|x).
"""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("vae-2d",)
SHOWN = 10  # digits in each row of extremes
RANGE = (5, 95)  # the percentiles quoted as the range of sigma(x)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (no ties in continuous data)."""
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels.numpy()
    run = ctx.model("vae-2d")
    x = test_inputs(dataset, run.config.data.binarize)
    with torch.no_grad():
        mu, logvar = run.model.encode(x)
        reconstruction = run.model.log_likelihood(x, run.model.likelihood_params(mu)).numpy()
    spread = torch.exp(0.5 * logvar.mean(dim=1)).numpy()  # (N,) geometric mean of sigma_j
    classes = len(dataset.class_names)
    medians = np.array([np.median(spread[labels == c]) for c in range(classes)])

    order = np.argsort(spread)
    fig = plotting.canvas((plotting.CONTENT_WIDTH, 5.6))
    top, bottom = fig.subfigures(2, 1, height_ratios=(1.25, 1))
    ax = top.subplots()
    ax.boxplot(
        [spread[labels == c] for c in range(classes)],
        positions=range(classes),
        widths=0.6,
        showfliers=True,
        flierprops={"markersize": 3},
        medianprops={"color": plotting.INK},
        patch_artist=True,
        boxprops={"facecolor": "#eceff1"},
    )
    ax.set_xticks(range(classes), dataset.class_names)
    ax.set_xlabel("class")
    ax.set_ylabel(r"$\sigma(x)$")
    rows = bottom.subplots(2, 1)
    for row, (title, indices) in zip(
        rows,
        (
            ("most precise codes", order[:SHOWN]),
            ("least precise codes", order[-SHOWN:][::-1].copy()),
        ),
        strict=True,
    ):
        low, high = spread[indices].min(), spread[indices].max()
        title = f"{title}: $\\sigma(x)$ from {low:.2f} to {high:.2f}"
        plotting.digits(row, x[indices].numpy(), SHOWN, title)
    plotting.check_text_size(fig)
    ctx.save("sigma-by-class.svg", plotting.svg_bytes(fig))

    ctx.number("median", float(np.median(spread)))
    ctx.number("low_class", dataset.class_names[int(np.argmin(medians))])
    ctx.number("low_class_median", float(medians.min()))
    ctx.number("high_class", dataset.class_names[int(np.argmax(medians))])
    ctx.number("high_class_median", float(medians.max()))
    for name, percent in zip(("low", "high"), RANGE, strict=True):
        ctx.number(f"{name}_percentile", percent)
        ctx.number(f"{name}_quantile", float(np.percentile(spread, percent)))
    ctx.number("shown", SHOWN)
    # Do broad codes go with digits the model reconstructs poorly?
    ctx.number("rank_correlation", rank_correlation(spread, reconstruction))
    ctx.number("code_radius_correlation", rank_correlation(spread, np.linalg.norm(mu, axis=1)))
