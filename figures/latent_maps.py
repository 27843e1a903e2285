"""The 2-D latent maps of the autoencoder, the noisy autoencoder and the VAE:
the test digits placed at the mean of q(z|x), coloured by class, with the
prior's 1-sigma and 2-sigma circles. One map per model, the three side by side
on shared axes, and the spread sigma(x) the VAE learns for each digit.

The spread of a digit's code is one number, sigma-bar(x): the geometric mean of
sigma_1(x) and sigma_2(x), the radius of the circle with the area of q(z|x)'s
1-sigma ellipse. sigma(x) stays the vector of both.
"""

import numpy as np
import torch

from vae.aggregate import rank_correlation
from vae.data import test_inputs
from vae.site import plotting
from vae.words import CORRELATION_STRENGTHS

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d-sigma-0.2", "vae-2d")
TITLES = {"ae": "autoencoder", "noisy-ae": "noisy AE", "vae": "VAE"}  # by model kind
SINGLE = ("ae-2d", "vae-2d")  # the models that also get a map of their own
RADIUS_QUANTILE = 0.99  # the share of codes inside the quoted radius
SHOWN = 10  # digits in each row of the most and least precise codes
RANGE = (5, 95)  # the percentiles quoted as the range of sigma-bar(x)


def title(ctx, name):
    """A map's title: the kind of model, and the noisy autoencoder's sigma_0."""
    model = ctx.model(name).config.model
    if model.kind == "noisy-ae":
        return rf"{TITLES[model.kind]}, $\sigma_0 = {model.noise_sigma:g}$"
    return TITLES[model.kind]


def posterior(ctx, name, x):
    """mu and sigma of q(z|x) for inputs x, as arrays (sigma is 0 for the autoencoder)."""
    with torch.no_grad():
        mu, logvar = ctx.model(name).model.encode(x)
    sigma = np.zeros_like(mu.numpy()) if logvar is None else torch.exp(0.5 * logvar).numpy()
    return mu.numpy(), sigma


def radius_words(r: float) -> str:
    """Whether codes far from the origin get broader or narrower clouds, from the
    rank correlation r of sigma-bar(x) with |mu(x)|: a sentence's start."""
    weakest = CORRELATION_STRENGTHS[-1][0]
    if abs(r) < weakest:
        return "A code's cloud is no broader or narrower for lying far from the origin"
    return f"Codes far from the origin tend to get {'broader' if r > 0 else 'narrower'} clouds"


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels.numpy()
    # The three models are trained on the same inputs, so they are shown the same test digits.
    x = test_inputs(dataset, ctx.model("vae-2d").config.data.binarize)
    posteriors = {name: posterior(ctx, name, x) for name in MODELS}

    for name in SINGLE:
        mu, _ = posteriors[name]
        fig, ax = plotting.figure(figsize=(5.0, 5.6))
        fig.get_layout_engine().set(h_pad=0.1)  # room for the title above a square map
        limit = plotting.map_limit(mu, quantile=1)
        plotting.latent_scatter(ax, mu, labels, title(ctx, name), limit)
        plotting.prior_circles(ax)
        plotting.class_legend(fig, dataset.class_names)
        plotting.check_text_size(fig)
        ctx.save(f"{name}.svg", plotting.svg_bytes(fig))

    for name, (mu, sigma) in posteriors.items():
        key = name.replace("-", "_").replace(".", "_")
        # The variance of the cloud of all codes, per coordinate, is the variance of
        # the means plus the mean variance around them (the law of total variance).
        ctx.number(f"{key}_means_sd", float(np.sqrt(np.mean(mu.var(axis=0)))))
        ctx.number(f"{key}_total_sd", float(np.sqrt(np.mean(mu.var(axis=0) + (sigma**2).mean(0)))))
    # The radius that holds RADIUS_QUANTILE of the autoencoder's codes.
    radius = np.quantile(np.linalg.norm(posteriors["ae-2d"][0], axis=1), RADIUS_QUANTILE)
    ctx.number("ae_2d_radius", float(radius))

    limit = plotting.map_limit(*(mu for mu, _ in posteriors.values()), quantile=1)
    fig, axes = plotting.figure(
        1, 3, figsize=(plotting.CONTENT_WIDTH, 3.7), sharex=True, sharey=True
    )
    for ax, (name, (mu, _)) in zip(axes, posteriors.items(), strict=True):
        plotting.latent_scatter(ax, mu, labels, title(ctx, name), limit)
        plotting.prior_circles(ax, label=False)
        if ax is not axes[0]:
            ax.set_ylabel("")
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("side-by-side.svg", plotting.svg_bytes(fig))

    config = ctx.model("vae-2d").config
    ctx.number("test_examples", len(labels))
    ctx.number("train_examples", len(dataset.train_labels))
    ctx.number("all_examples", len(dataset.train_labels) + len(labels))
    ctx.number("epochs", config.train.epochs)
    ctx.number("hidden_units", config.model.hidden_sizes[0])
    ctx.number("latent_dim", config.model.latent_dim)
    ctx.number("pixels", config.model.data_dim)
    ctx.number("radius_percent", round(100 * RADIUS_QUANTILE))
    ctx.number("noisy_sigma", ctx.model("noisy-ae-2d-sigma-0.2").config.model.noise_sigma)
    learned_sigma(ctx, dataset, x, *posteriors["vae-2d"])


def learned_sigma(ctx, dataset, x, mu, sigma):
    """The VAE's sigma-bar(x) by class, and the digits with the most and least precise codes."""
    labels = dataset.test_labels.numpy()
    # (N,) sigma-bar(x), the geometric mean of sigma_j(x): one number per digit
    spread = np.exp(np.log(sigma).mean(axis=1))
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
        flierprops={"markersize": 3},
        medianprops={"color": plotting.INK},
        patch_artist=True,
        boxprops={"facecolor": "#eceff1"},
    )
    ax.set_xticks(range(classes), dataset.class_names)
    ax.set_xlabel("class")
    ax.set_ylabel(r"$\bar\sigma(x)$")
    extremes = (
        ("most precise codes", order[:SHOWN]),
        ("least precise codes", order[-SHOWN:][::-1].copy()),
    )
    for row, (title, indices) in zip(bottom.subplots(2, 1), extremes, strict=True):
        low, high = spread[indices].min(), spread[indices].max()
        title = f"{title}: $\\bar\\sigma(x)$ from {low:.2f} to {high:.2f}"
        plotting.digits(row, x[indices].numpy(), SHOWN, title)
    plotting.check_text_size(fig)
    ctx.save("sigma-by-class.svg", plotting.svg_bytes(fig))

    ctx.number("sigma_median", float(np.median(spread)))
    ctx.words("sigma_low_class", dataset.class_names[int(np.argmin(medians))])
    ctx.number("sigma_low_class_median", float(medians.min()))
    ctx.words("sigma_high_class", dataset.class_names[int(np.argmax(medians))])
    ctx.number("sigma_high_class_median", float(medians.max()))
    for name, percent in zip(("low", "high"), RANGE, strict=True):
        ctx.number(f"sigma_{name}_percentile", percent)
        ctx.number(f"sigma_{name}_quantile", float(np.percentile(spread, percent)))
    ctx.number("sigma_shown", SHOWN)
    # Broad codes far out: rank correlation of sigma-bar(x) with the distance of mu(x) from 0.
    radius = np.linalg.norm(mu, axis=1)
    correlation = rank_correlation(torch.from_numpy(spread), torch.from_numpy(radius))
    ctx.number("sigma_radius_correlation", correlation)
    ctx.words("sigma_radius_words", radius_words(correlation))
