"""The 2-D VAE's exact log p(x), its true posteriors p(z|x), and where the gap
between log p(x) and its ELBO comes from, on every test digit.

log p(x) is a 2-D integral, taken on a grid refined where each digit's
posterior has its mass (`vae.exact`). On the same grid: the ELBO of the
encoder's q(z|x), the best Gaussian q for each digit on its own (the split of
Cremer, Li & Duvenaud 2018: approximation gap plus amortization gap), and the
Gaussians that minimise KL(q || p) and KL(p || q). Three digits are chosen by
rule: the smallest gap (a crisp digit), the largest approximation gap (the
posterior least like a Gaussian), and the largest gap. The importance-weighted
bounds L_k are measured against log p(x) on a subset of the digits.

The maths is in `vae.exact`, `vae.gaps`, `vae.posterior` and `vae.bounds`, the
words in `vae.words`; this script computes, records and draws.
"""

import math

import numpy as np
import torch

from vae import exact, words
from vae.bounds import check_bounds, check_gap_split, sample_log_weights, shortfall
from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.gaps import choose_digits, exclusive_kl, inclusive_kl, inference_gaps, q_mass
from vae.posterior import (
    count_peaks,
    highest_density_levels,
    overlap,
    peak_shares,
    place,
    relative_density,
)
from vae.site import plotting
from vae.words import count_words, overlap_words, place_words, shortfall_words

PAGE = "variational-inference.md"
MODELS = ("vae-2d",)
# stride: every stride-th test digit is used (all of them in the full profile);
# of those, every lk_stride-th gets L_k for k up to ks[-1], and the chosen digits
# get `repeats` sets of ks[-1] weights; the first `refine_digits` are integrated
# again on cells half as wide.
SETTINGS = {
    "quick": {"stride": 10, "lk_stride": 2, "ks": (1, 10, 100), "repeats": 4, "refine_digits": 10},
    "full": {
        "stride": 1, "lk_stride": 10, "ks": (1, 10, 100, 1000), "repeats": 6, "refine_digits": 20,
    },
}  # fmt: skip
# Drafts integrate on coarser cells: the quick models' posteriors are wide.
GRIDS = {"quick": exact.Grid(refine=2), "full": exact.Grid()}
SEED = 0
# The split is also taken on every TRAIN_STRIDE-th training digit (the training
# split is sorted by class: a stride keeps every class).
TRAIN_STRIDE = {"quick": 90, "full": 18}
TIES = 2  # a difference within this many standard errors is not told from zero
MASSES = (0.5, 0.9, 0.99)  # the posterior's contours enclose these shares of its mass
BIG_GAP = 10  # nats: gaps above this are counted
Q_MASS = 0.999  # the least share of a Gaussian that the grid its KL is taken on must hold
FINE_MASS = 0.999  # the least share of each posterior that its fine cells must hold
Q_COLOR = "#d84315"  # the encoder's q
BEST_COLOR = plotting.KL_COLOR  # the best Gaussian
MOMENT_COLOR = "#2e7d32"  # the Gaussian of the posterior's moments
# Of each chosen digit the page quotes its class and these.
CHOSEN_QUANTITIES = {
    "crisp": ("gap",),
    "modes": ("gap", "approximation", "amortization"),
    "missed": ("log_px", "gap"),
}


# -- drawing ------------------------------------------------------------------


def posterior_panel(ax, posterior, row, title, image=None):
    """Filled contours of p(z|x) for one digit; returns the axes' limits."""
    z1, z2, log_density = exact.posterior_image(posterior, row)
    levels = highest_density_levels(log_density, posterior.step**2, MASSES).tolist()
    z1, z2, log_density = z1.numpy(), z2.numpy(), log_density.numpy()
    ax.contourf(
        z1, z2, np.where(np.isfinite(log_density), log_density, -1e9),
        levels=[*levels, np.inf], colors=["#eceff1", "#b0bec5", "#607d8b"], rasterized=True,
    )  # fmt: skip
    ax.set_title(title, loc="left")
    ax.set(xlabel="$z_1$")
    ax.set_aspect("equal", adjustable="datalim")
    if image is not None:
        inset = ax.inset_axes((0.0, 0.72, 0.28, 0.28))
        inset.imshow(1 - image, cmap="gray", vmin=0, vmax=1, interpolation="none")
        inset.set(xticks=[], yticks=[])
        inset.spines[:].set_visible(True)
    inside = log_density >= levels[0]
    return (z1[inside.any(0)], z2[inside.any(1)])


# -- the figure ---------------------------------------------------------------


def make(ctx):
    settings = SETTINGS[ctx.profile]
    run = ctx.model("vae-2d")
    model = run.model
    dataset = ctx.dataset("mnist5k")
    # The test digits are sorted by class: a stride keeps every class.
    x = test_inputs(dataset, run.config.data.binarize)[:: settings["stride"]]
    labels = dataset.test_labels[:: settings["stride"]].numpy()
    with torch.no_grad():
        encoded = model.encode(x)
    grid = GRIDS[ctx.profile]
    gaps = inference_gaps(model, x, grid)
    record_gaps(ctx, gaps)
    record_training_split(ctx, model, dataset, grid, gaps)
    record_grid(ctx, model, x[: settings["refine_digits"]], grid, gaps)
    chosen = choose_digits(gaps)
    record_chosen(ctx, chosen, gaps, encoded, dataset.class_names, labels)
    modes_peaks = record_modes(ctx, gaps, encoded, chosen["modes"])
    peaks = f"{modes_peaks} peak" + ("s" if modes_peaks != 1 else "")
    titles = {"crisp": "smallest gap", "modes": peaks, "missed": "largest gap"}
    posteriors_figure(ctx, gaps, encoded, x, chosen, titles)
    kl_directions_figure(ctx, model, x, grid, gaps, chosen["modes"])
    bounds_figure(ctx, model, x, gaps, chosen, titles, settings)
    gap_split_figure(ctx, gaps, labels, dataset.class_names)


def record_gaps(ctx, gaps):
    """The gap and its two parts over the test digits."""
    posterior = gaps.posterior
    check_gap_split(gaps.approximation, gaps.amortization)  # each part >= 0, so <= the gap
    ctx.number("digits", len(gaps.log_px))
    for key, (mean, standard_error) in gaps.summary().items():
        ctx.number(f"{key}", mean)
        ctx.number(f"{key}_se", standard_error)
    ctx.number("gap_median", gaps.gap.median().item())
    _, variance = exact.posterior_moments(posterior)
    ctx.number("posterior_sd_median", variance.sqrt().median().item())  # over digits and axes
    ctx.number("posterior_sd_min", variance.sqrt().min().item())
    # Rounded up: the prose says no digit's gap exceeds it.
    ctx.number("approximation_max", math.ceil(100 * gaps.approximation.max().item()) / 100)
    ctx.number("amortization_min", gaps.amortization.min().item())
    ctx.number("amortization_max", gaps.amortization.max().item())
    ctx.number("amortization_share", (gaps.amortization.sum() / gaps.gap.sum()).item())
    larger = int((gaps.amortization > gaps.approximation).sum().item())
    ctx.number("amortization_larger", larger)
    ctx.number("approximation_larger", len(gaps.log_px) - larger)
    ctx.number("big_gap", BIG_GAP)
    ctx.number("big_gaps", int((gaps.gap > BIG_GAP).sum().item()))
    for name, share in zip(("mass_inner", "mass_middle", "mass_outer"), MASSES, strict=True):
        ctx.number(name, round(100 * share))  # percent


def record_training_split(ctx, model, dataset, grid, gaps):
    """The same split on every TRAIN_STRIDE-th training digit, binarized once with
    the test digits' fixed seed, and how each part compares with the test digits'."""
    images = to_unit_interval(dataset.train_images[:: TRAIN_STRIDE[ctx.profile]])
    train = inference_gaps(model, binarize(images, fixed_generator()), grid).summary()
    test = gaps.summary()
    ctx.number("train_digits", len(images))
    said = {}
    for key, (mean, standard_error) in train.items():
        ctx.number(f"train_{key}", mean)
        ctx.number(f"train_{key}_se", standard_error)
        se = float(np.hypot(test[key][1], standard_error))
        said[key] = words.verdict(test[key][0] - mean, se, TIES)
    growth = words.gap_growth_words(said["approximation"], said["amortization"])
    ctx.words("gap_growth_words", growth)
    ctx.words("log_px_growth_words", words.LOG_PX_GROWTH[said["log_px"]])


def record_grid(ctx, model, few, grid, gaps):
    """The grid, and what halving its fine cells changes on the `few` first digits."""
    posterior = gaps.posterior
    for key in ("box", "coarse_step", "fine_step", "refine", "threshold"):
        ctx.number(key, getattr(grid, key))
    ctx.number("coarse_cells", grid.cells**2)
    held = posterior.mass.min().item()
    if held < FINE_MASS:
        raise ValueError(f"the fine cells hold only {held:.4f} of a posterior")
    finer = exact.Grid(refine=2 * grid.refine)
    change = (exact.log_marginal(model, few, finer) - gaps.log_px[: len(few)]).abs().max()
    ctx.number("refine_digits", len(few))
    ctx.number("refine_change", math.ceil(1e4 * change.item()) / 1e4)  # up: "by no more than"


def record_chosen(ctx, chosen, gaps, encoded, class_names, labels):
    """Each chosen digit's class, and its CHOSEN_QUANTITIES: gap, its parts, log p(x);
    and in words how much the encoder's q overlaps the posterior of the largest gap."""
    for name, i in chosen.items():
        ctx.words(f"{name}_label", class_names[labels[i]])
        for quantity in CHOSEN_QUANTITIES[name]:
            ctx.number(f"{name}_{quantity}", getattr(gaps, quantity)[i].item())
    i = chosen["missed"]
    share = overlap(gaps.posterior, i, encoded.mu[i], encoded.logvar[i])
    ctx.words("missed_overlap", overlap_words(share))


def record_modes(ctx, gaps, encoded, i):
    """Where the encoder's q and the best Gaussian sit on the posterior with several
    peaks, by their centres and the peaks their drawn ellipses take in, and whose
    its gap mostly is: worded here, so that the prose follows a retrained model.
    Returns the number of peaks."""
    posterior = gaps.posterior
    peaks = count_peaks(posterior, i)
    ctx.words("modes_peaks", f"{count_words(peaks)} peak" + ("s" if peaks != 1 else ""))
    every = words.peaks_words(peaks, peaks) if peaks > 1 else "its single peak"
    ctx.words("modes_all", every)  # "both", "all of them"
    q = (encoded.mu[i], encoded.logvar[i])
    q_words = (place(posterior, i, q[0]), peak_shares(posterior, i, *q), MASSES[:2])
    ctx.words("modes_q_place", place_words(*q_words))
    # The body adds how high the posterior is under q's centre, when it is off a peak.
    ctx.words("modes_q_where", place_words(*q_words, relative_density(posterior, i, q[0])))
    best = (gaps.best_mu[i], gaps.best_logvar[i])
    best_words = (place(posterior, i, best[0]), peak_shares(posterior, i, *best), MASSES[:2])
    ctx.words("modes_best_place", place_words(*best_words))
    ctx.words("modes_shortfall", shortfall_words(gaps.amortization[i], gaps.gap[i]))
    return peaks


def posteriors_figure(ctx, gaps, encoded, x, chosen, titles):
    """1. The true posterior beside the encoder's q and the best Gaussian."""
    fig, axes = plotting.figure(1, 3, figsize=(plotting.CONTENT_WIDTH, 3.6))
    for ax, (name, i) in zip(axes, chosen.items(), strict=True):
        extents = posterior_panel(ax, gaps.posterior, i, titles[name], x[i].numpy())
        q = (encoded.mu[i].numpy(), encoded.logvar[i].numpy())
        best = (gaps.best_mu[i].numpy(), gaps.best_logvar[i].numpy())
        plotting.gaussian_contours(ax, *q, MASSES[:2], Q_COLOR, "-", "encoder's $q(z \\mid x)$")
        plotting.gaussian_contours(ax, *best, MASSES[:2], BEST_COLOR, "--", "best Gaussian $q$")
        plotting.frame_gaussians(ax, extents, [q, best], MASSES[1])
    axes[0].set_ylabel("$z_2$")
    handles, names = axes[0].get_legend_handles_labels()
    shade = plotting.plt.Rectangle((0, 0), 1, 1, color="#b0bec5")
    fig.legend([shade, *handles], ["$p(z \\mid x)$", *names], loc="outside lower center", ncols=3)
    plotting.check_text_size(fig)
    ctx.save("posteriors.svg", plotting.svg_bytes(fig))


def kl_directions_figure(ctx, model, x, grid, gaps, i):
    """2. KL(q || p) against KL(p || q) on the posterior with several peaks. Each
    divergence is taken on a grid refined over the Gaussian's own mass as well
    as the posterior's (a wide Gaussian reaches cells the posterior's grid
    leaves coarse), and that grid holds at least Q_MASS of the Gaussian."""
    posterior = gaps.posterior
    mean, var = exact.posterior_moments(posterior)
    gaussians = {
        "exclusive": (gaps.best_mu[i : i + 1], gaps.best_logvar[i : i + 1]),
        "inclusive": (mean[i : i + 1], var[i : i + 1].log()),
    }
    for name, (mu, logvar) in gaussians.items():
        covered = exact.posterior_on_grid(model, x[i : i + 1], grid, cover=(mu, logvar))
        held = q_mass(covered, mu, logvar).item()
        if held < Q_MASS:
            raise ValueError(f"the grid holds only {held:.4f} of the {name} Gaussian")
        ctx.number(f"{name}_kl_qp", exclusive_kl(covered, mu, logvar).item())
        ctx.number(f"{name}_kl_pq", inclusive_kl(covered, mu, logvar).item())
    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 3.8), sharey=True)
    post = r"p(z \mid x)"  # the true posterior; p alone is the prior elsewhere on the site
    panels = {
        "exclusive": (rf"q \,\|\, {post}", BEST_COLOR, "--", "best Gaussian $q$"),
        "inclusive": (rf"{post} \,\|\, q", MOMENT_COLOR, "-", f"$q$ with ${post}$'s moments"),
    }
    frames = [tuple(t[0].numpy() for t in gaussian) for gaussian in gaussians.values()]
    for ax, (name, (kl, color, style, label)) in zip(axes, panels.items(), strict=True):
        extents = posterior_panel(ax, posterior, i, rf"minimises $\mathrm{{KL}}({kl})$")
        mu, logvar = (t[0].numpy() for t in gaussians[name])
        plotting.gaussian_contours(ax, mu, logvar, MASSES[:2], color, style, label)
        # Both panels in the same frame, which the shared z_2 keeps whole.
        plotting.frame_gaussians(ax, extents, frames, MASSES[1])
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel("$z_2$")
    handles = [ax.get_legend_handles_labels()[0][0] for ax in axes]
    shade = plotting.plt.Rectangle((0, 0), 1, 1, color="#b0bec5")
    names = [f"${post}$", *(panel[-1] for panel in panels.values())]
    fig.legend([shade, *handles], names, loc="outside lower center", ncols=3)
    plotting.check_text_size(fig)
    ctx.save("kl-directions.svg", plotting.svg_bytes(fig))


def bounds_figure(ctx, model, x, gaps, chosen, titles, settings):
    """3. L_k against log p(x): every lk_stride-th digit, and the chosen digits."""
    ks = settings["ks"]
    subset = torch.arange(0, len(x), settings["lk_stride"])
    log_px = gaps.log_px[subset]
    # One draw of each bound per digit: the spread is over the digits.
    mean = shortfall(log_px, sample_log_weights(model, x[subset], ks[-1], SEED), ks)
    check_bounds(mean)  # L_k <= log p(x), up to Monte Carlo error
    ctx.number("lk_digits", len(subset))
    every = settings["lk_stride"] * settings["stride"]
    ctx.words("lk_every", words.every_words(every, "test digit"))
    ctx.number("kmax", ks[-1])
    for name, j in (("lk_1", 0), ("lk_kmax", -1)):
        ctx.number(f"{name}_gap", mean.gap[j].item())
        ctx.number(f"{name}_gap_se", mean.se[j].item())

    fig, (left, right) = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 4.0))
    left.axhline(log_px.mean().item(), color=plotting.INK, linewidth=1.2, label=r"$\log p(x)$")
    curve = mean.bounds.mean(1)
    left.plot(ks, curve.numpy(), marker="o", color=Q_COLOR, label=r"$\mathcal{L}_k$")
    left.set(xscale="log", xlabel="$k$", ylabel=f"nats, mean of {len(subset)} digits")
    left.annotate(
        "ELBO", (1, curve[0].item()), xytext=(8, 0), textcoords="offset points", va="center"
    )
    left.legend(loc="lower right")

    def gap_curve(gap, se, label, color, marker):
        """log p(x) - L_k on log axes, where it stands clearly above its noise."""
        gap, se = gap.numpy(), se.numpy()
        shown = gap > 2 * se
        right.errorbar(
            np.asarray(ks)[shown], gap[shown], yerr=se[shown], marker=marker, color=color,
            capsize=3, label=label,
        )  # fmt: skip

    gap_curve(mean.gap, mean.se, "mean", Q_COLOR, "o")
    styles = {"crisp": ("#546e7a", "s"), "modes": (BEST_COLOR, "^"), "missed": ("#6a1b9a", "D")}
    repeats = settings["repeats"]
    for name, i in chosen.items():
        w = sample_log_weights(model, x[i : i + 1], ks[-1] * repeats, SEED + 1 + i)
        # Independent sets of ks[-1] weights of the same digit: the spread is over the sets.
        one = shortfall(gaps.log_px[i], w.view(repeats, ks[-1]).T, ks)
        if name == "missed":  # the page quotes how far L_kmax stays below log p(x) here
            ctx.number(f"{name}_lk_gap", one.gap[-1].item())
            ctx.number(f"{name}_lk_gap_se", one.se[-1].item())
        gap_curve(one.gap, one.se, titles[name], *styles[name])
    right.set(xscale="log", yscale="log", xlabel="$k$", ylabel=r"$\log p(x) - \mathcal{L}_k$, nats")
    fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    for ax in (left, right):
        ax.set_xticks(ks, [f"{k:,}" for k in ks])
        ax.minorticks_off()
    plotting.check_text_size(fig)
    ctx.save("bounds-vs-log-px.svg", plotting.svg_bytes(fig))


def gap_split_figure(ctx, gaps, labels, class_names):
    """4. The gap split, digit by digit."""
    fig, ax = plotting.figure(figsize=(5.6, 5.6))
    floor = 1e-3
    approx = np.maximum(gaps.approximation.numpy(), floor)
    amort = np.maximum(gaps.amortization.numpy(), floor)
    ax.scatter(
        approx, amort, c=np.asarray(plotting.CLASS_COLORS)[labels], s=12, linewidths=0,
        rasterized=True,
    )  # fmt: skip
    low, high = floor / 1.5, max(approx.max(), amort.max()) * 1.5
    ax.plot([low, high], [low, high], color=plotting.INK, linewidth=1, linestyle=":")
    ax.text(high / 1.5, high / 1.5, "equal ", ha="right", va="bottom")
    ax.set(xscale="log", yscale="log", xlim=(low, high), ylim=(low, high), aspect="equal")
    ax.set(xlabel="approximation gap, nats", ylabel="amortization gap, nats")
    plotting.class_legend(fig, class_names)
    plotting.check_text_size(fig)
    ctx.save("gap-split.svg", plotting.svg_bytes(fig))
