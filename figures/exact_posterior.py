"""The 2-D VAE's exact log p(x), its true posteriors p(z|x), and where the gap
between log p(x) and its ELBO comes from, on every test digit.

log p(x) is a 2-D integral, taken on a grid refined where each digit's
posterior has its mass (`vae.exact`). On the same grid: the ELBO of the
encoder's q(z|x), the best Gaussian q for each digit on its own (the split of
Cremer, Li & Duvenaud 2018: approximation gap plus amortization gap), and the
Gaussians that minimise KL(q || p) and KL(p || q). Three digits are chosen by
rule: the smallest gap (a crisp digit), the largest approximation gap (the
posterior least like a Gaussian), and the largest gap. The importance-weighted
bounds L_k are measured against log p(x) on every fifth test digit.
"""

import math

import numpy as np
import torch

from vae import exact, objectives
from vae.data import test_inputs
from vae.gaps import grid_elbo, inclusive_kl, inference_gaps
from vae.site import plotting

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
MASSES = (0.5, 0.9, 0.99)  # the posterior's contours enclose these shares of its mass
BIG_GAP = 10  # nats: gaps above this are counted
PEAK_FLOOR = 0.01  # a local maximum of the posterior counts above this share of its peak
ON_PEAK = 0.5  # a Gaussian sits on a peak where p(z|x) is at least this share of the peak's
CANDIDATES = 20  # digits with the largest approximation gaps searched for several peaks
Q_COLOR = "#d84315"  # the encoder's q
BEST_COLOR = plotting.KL_COLOR  # the best Gaussian
MOMENT_COLOR = "#2e7d32"  # the Gaussian of the posterior's moments


def log_weights(model, x, k, seed):
    """k log-weights log p(x, z) - log q(z|x), z ~ q, per digit: (k, N), float64."""
    generator = torch.Generator().manual_seed(seed)
    step = max(1, 50_000 // k)
    with torch.no_grad():
        parts = [model.log_weights(x[i : i + step], k, generator) for i in range(0, len(x), step)]
    return torch.cat(parts, dim=1).double()


def bound(log_w, k):
    """L_k per digit, averaged over the disjoint blocks of k log-weights."""
    n = log_w.shape[1]
    blocks = log_w.view(-1, k, n).transpose(0, 1).reshape(k, -1)
    return objectives.iwae_bound(blocks).view(-1, n).mean(0)


def hdr_levels(log_density, area):
    """log-density levels whose upper sets hold MASSES of the posterior, ascending."""
    values = np.sort(log_density[np.isfinite(log_density)])[::-1]
    mass = np.cumsum(np.exp(values) * area)
    return sorted(values[min(np.searchsorted(mass, m), values.size - 1)] for m in MASSES)


def ellipse(ax, mu, logvar, color, style, label=None):
    """The contours of N(mu, diag e^logvar) that enclose MASSES[:2] of it."""
    t = np.linspace(0, 2 * np.pi, 200)
    sd = np.exp(0.5 * np.asarray(logvar))
    for i, share in enumerate(MASSES[:2]):
        r = math.sqrt(-2 * math.log(1 - share))  # Mahalanobis radius of that share
        ax.plot(
            mu[0] + r * sd[0] * np.cos(t),
            mu[1] + r * sd[1] * np.sin(t),
            color=color,
            linestyle=style,
            linewidth=1.6,
            label=label if i == 0 else None,
        )


def posterior_panel(ax, posterior, row, title, image=None):
    """Filled contours of p(z|x) for one digit; returns the axes' limits."""
    z1, z2, log_density = (t.numpy() for t in exact.posterior_image(posterior, row))
    levels = hdr_levels(log_density, posterior.step**2)
    ax.contourf(
        z1, z2, np.where(np.isfinite(log_density), log_density, -1e9),
        levels=[*levels, np.inf], colors=["#eceff1", "#b0bec5", "#607d8b"], rasterized=True,
    )  # fmt: skip
    ax.set_title(title, loc="left")
    ax.set_xlabel("$z_1$")
    ax.set_aspect("equal", adjustable="datalim")
    if image is not None:
        inset = ax.inset_axes((0.0, 0.72, 0.28, 0.28))
        inset.imshow(1 - image, cmap="gray", vmin=0, vmax=1, interpolation="none")
        inset.set_xticks([])
        inset.set_yticks([])
        inset.spines[:].set_visible(True)
    inside = log_density >= levels[0]
    return (z1[inside.any(0)], z2[inside.any(1)])


def frame(ax, extents, gaussians, pad=0.15):
    """Limits that hold the posterior's outer contour and the Gaussians' 90% ellipses."""
    xs = [extents[0].min(), extents[0].max()]
    ys = [extents[1].min(), extents[1].max()]
    r = math.sqrt(-2 * math.log(1 - MASSES[1]))
    for mu, logvar in gaussians:
        sd = np.exp(0.5 * np.asarray(logvar))
        xs += [mu[0] - r * sd[0], mu[0] + r * sd[0]]
        ys += [mu[1] - r * sd[1], mu[1] + r * sd[1]]
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)


def peak_cells(posterior, row, floor=PEAK_FLOOR):
    """Local maxima of one digit's posterior density on the fine cells, counting
    only those at least `floor` times its highest density: their codes (P, 2)
    and log-densities (P,), highest first."""
    z1, z2, log_density = exact.posterior_image(posterior, row)
    neighbourhood = torch.nn.functional.max_pool2d(log_density[None, None], 3, stride=1, padding=1)[
        0, 0
    ]
    top = (log_density == neighbourhood) & (log_density >= log_density.max() + math.log(floor))
    rows, cols = top.nonzero(as_tuple=True)
    order = log_density[rows, cols].argsort(descending=True)
    codes = torch.stack([z1[cols], z2[rows]], dim=1)[order]
    return codes, log_density[rows, cols][order]


def peaks(posterior, row):
    """How many peaks one digit's posterior has (see `peak_cells`)."""
    return len(peak_cells(posterior, row)[1])


def density_at(posterior, row, mu):
    """log p(z|x) of one digit on the fine cell nearest to mu."""
    z1, z2, log_density = exact.posterior_image(posterior, row)
    return log_density[(z2 - mu[1]).abs().argmin(), (z1 - mu[0]).abs().argmin()]


def place(posterior, row, mu):
    """Where a Gaussian centred at mu sits among a posterior's peaks: "on" one
    (the posterior's density at mu is at least ON_PEAK times that of the nearest
    peak), "between" the two highest (off them, but over the segment that joins
    them and closer to it than half its length), or "away" from them."""
    codes, heights = peak_cells(posterior, row)
    mu = torch.as_tensor(mu, dtype=codes.dtype)
    here = density_at(posterior, row, mu)
    nearest = (codes - mu).norm(dim=1).argmin()
    if here >= heights[nearest] + math.log(ON_PEAK):
        return "on"
    if len(codes) < 2:
        return "away"
    a, b = codes[0], codes[1]
    t = torch.dot(mu - a, b - a) / (b - a).square().sum()  # position along a -> b
    off = (mu - (a + t * (b - a))).norm()  # distance from the line through a and b
    return "between" if 0 < t < 1 and off < 0.5 * (b - a).norm() else "away"


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def place_words(where, peaks):
    """How the article words `place` for a posterior with `peaks` peaks."""
    if where == "on":
        return "sits on one of them"
    if peaks == 2:
        return f"sits {'between them' if where == 'between' else 'away from both'}, on neither"
    if where == "between":
        return "sits between the two highest, on none of them"
    return "sits away from all of them"


def percent(share):
    """A share as a percentage with two significant digits ('34%', '0.23%'), or
    'under 0.1%'."""
    return "under 0.1%" if share < 0.001 else f"{float(f'{100 * share:.2g}'):g}%"


def shortfall_words(amortization, gap):
    """Whose the gap of a digit mostly is, in words: the encoder's or the Gaussian's."""
    share = amortization / gap
    if share >= 0.9:
        return "nearly all of its shortfall is the encoder's, not the Gaussian's"
    if share >= 0.6:
        return "most of its shortfall is the encoder's, not the Gaussian's"
    if share > 0.4:
        return "its shortfall is about half the encoder's and half the Gaussian's"
    return "most of its shortfall is the Gaussian's, not the encoder's"


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
    posterior = gaps.posterior
    ctx.number("digits", len(x))
    for key, (mean, standard_error) in gaps.summary().items():
        ctx.number(f"{key}", mean)
        ctx.number(f"{key}_se", standard_error)
    ctx.number("gap_median", gaps.gap.median().item())
    _, variance = exact.posterior_moments(posterior)
    ctx.number("posterior_sd_median", variance.sqrt().median().item())  # over digits and axes
    ctx.number("posterior_sd_min", variance.sqrt().min().item())
    ctx.number("approximation_max", gaps.approximation.max().item())
    ctx.number("amortization_min", gaps.amortization.min().item())
    ctx.number("amortization_share", (gaps.amortization.sum() / gaps.gap.sum()).item())
    larger = int((gaps.amortization > gaps.approximation).sum().item())
    ctx.number("amortization_larger", larger)
    ctx.number("approximation_larger", len(x) - larger)
    ctx.number("big_gap", BIG_GAP)
    ctx.number("big_gaps", int((gaps.gap > BIG_GAP).sum().item()))
    for name, share in zip(("mass_inner", "mass_middle", "mass_outer"), MASSES, strict=True):
        ctx.number(name, round(100 * share))  # percent

    # The grid, and what halving its fine cells changes.
    ctx.number("box", grid.box)
    ctx.number("coarse_step", grid.coarse_step)
    ctx.number("fine_step", grid.fine_step)
    ctx.number("refine", grid.refine)
    ctx.number("threshold", grid.threshold)
    ctx.number("coarse_cells", grid.cells**2)
    ctx.number("fine_points", int(torch.isfinite(posterior.log_joint).sum(1).float().mean()))
    ctx.number("posterior_mass_fine", posterior.mass.min().item())
    few = x[: settings["refine_digits"]]
    finer = exact.Grid(refine=2 * grid.refine)
    change = (exact.log_marginal(model, few, finer) - gaps.log_px[: len(few)]).abs().max()
    ctx.number("refine_digits", len(few))
    ctx.number("refine_change", change.item())
    ctx.number("finer_step", finer.fine_step)

    # Three digits, by rule: the smallest gap; the largest approximation gap
    # among posteriors with more than one peak; the largest gap.
    by_approximation = gaps.approximation.argsort(descending=True).tolist()
    several = [i for i in by_approximation[:CANDIDATES] if peaks(posterior, i) > 1]
    chosen = {
        "crisp": int(gaps.gap.argmin()),
        "modes": several[0] if several else by_approximation[0],
        "missed": int(gaps.gap.argmax()),
    }
    for name, i in chosen.items():
        ctx.number(f"{name}_index", i)
        ctx.number(f"{name}_label", dataset.class_names[labels[i]])
        ctx.number(f"{name}_log_px", gaps.log_px[i].item())
        ctx.number(f"{name}_elbo", gaps.elbo[i].item())
        ctx.number(f"{name}_gap", gaps.gap[i].item())
        ctx.number(f"{name}_approximation", gaps.approximation[i].item())
        ctx.number(f"{name}_amortization", gaps.amortization[i].item())
        ctx.number(f"{name}_q_sd", torch.exp(0.5 * encoded.logvar[i]).max().item())

    # Where the encoder's q and the best Gaussian sit on the posterior with
    # several peaks, and whose its gap mostly is: worded here, so that the
    # prose follows a retrained model.
    i = chosen["modes"]
    modes_peaks = peaks(posterior, i)
    ctx.number("modes_peaks", modes_peaks)
    ctx.number("modes_peaks_word", NUMBER_WORDS[modes_peaks] if modes_peaks < 10 else modes_peaks)
    q_place = place_words(place(posterior, i, encoded.mu[i]), modes_peaks)
    ctx.number("modes_q_place", q_place)
    # The body adds how high the posterior is under q's centre, when it is off a peak.
    height = math.exp(density_at(posterior, i, encoded.mu[i]) - peak_cells(posterior, i)[1][0])
    where = f", where the posterior's density is {percent(height)} of its highest"
    ctx.number("modes_q_where", q_place + ("" if height >= ON_PEAK else where))
    best_place = place(posterior, i, gaps.best_mu[i])
    ctx.number("modes_best_place", place_words(best_place, modes_peaks))
    ctx.number("modes_shortfall", shortfall_words(gaps.amortization[i], gaps.gap[i]))
    ctx.number("modes_amortization_share", (gaps.amortization[i] / gaps.gap[i]).item())

    # 1. The true posterior beside the encoder's q and the best Gaussian.
    fig, axes = plotting.figure(1, 3, figsize=(plotting.CONTENT_WIDTH, 3.6))
    titles = {"crisp": "smallest gap", "modes": f"{modes_peaks} peaks", "missed": "largest gap"}
    for ax, (name, i) in zip(axes, chosen.items(), strict=True):
        extents = posterior_panel(ax, posterior, i, titles[name], x[i].numpy())
        q = (encoded.mu[i].numpy(), encoded.logvar[i].numpy())
        best = (gaps.best_mu[i].numpy(), gaps.best_logvar[i].numpy())
        ellipse(ax, *q, Q_COLOR, "-", "encoder's $q(z \\mid x)$")
        ellipse(ax, *best, BEST_COLOR, "--", "best Gaussian $q$")
        frame(ax, extents, [q, best])
    axes[0].set_ylabel("$z_2$")
    handles, names = axes[0].get_legend_handles_labels()
    shade = plotting.plt.Rectangle((0, 0), 1, 1, color="#b0bec5")
    fig.legend([shade, *handles], ["$p(z \\mid x)$", *names], loc="outside lower center", ncols=3)
    plotting.check_text_size(fig)
    ctx.save("posteriors.svg", plotting.svg_bytes(fig))

    # 2. KL(q || p) against KL(p || q) on the posterior with several peaks.
    i = chosen["modes"]
    mean, var = exact.posterior_moments(posterior)
    gaussians = {
        "exclusive": (gaps.best_mu[i : i + 1], gaps.best_logvar[i : i + 1]),
        "inclusive": (mean[i : i + 1], var[i : i + 1].log()),
    }
    one = posterior._replace(
        log_px=posterior.log_px[i : i + 1],
        z=posterior.z[i : i + 1],
        log_joint=posterior.log_joint[i : i + 1],
        mass=posterior.mass[i : i + 1],
    )
    for name, (mu, logvar) in gaussians.items():
        ctx.number(f"{name}_kl_qp", (one.log_px - grid_elbo(one, mu, logvar)).item())
        ctx.number(f"{name}_kl_pq", inclusive_kl(one, mu, logvar).item())
    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 3.9), sharey=True)
    panels = (
        ("exclusive", r"minimises $\mathrm{KL}(q \,\|\, p)$", BEST_COLOR, "--"),
        ("inclusive", r"minimises $\mathrm{KL}(p \,\|\, q)$", MOMENT_COLOR, "-"),
    )
    for ax, (name, title, color, style) in zip(axes, panels, strict=True):
        extents = posterior_panel(ax, posterior, i, title)
        mu, logvar = (t[0].numpy() for t in gaussians[name])
        ellipse(ax, mu, logvar, color, style, "Gaussian $q$")
        frame(ax, extents, [(mu, logvar)])
    axes[0].set_ylabel("$z_2$")
    plotting.check_text_size(fig)
    ctx.save("kl-directions.svg", plotting.svg_bytes(fig))

    # 3. L_k against log p(x): every stride-th digit, and the chosen digits.
    ks = settings["ks"]
    subset = torch.arange(0, len(x), settings["lk_stride"])
    log_w = log_weights(model, x[subset], ks[-1], SEED)
    bounds = torch.stack([bound(log_w, k) for k in ks])  # (len(ks), N)
    log_px = gaps.log_px[subset]
    ctx.number("lk_digits", len(subset))
    ctx.number("lk_stride", settings["lk_stride"] * settings["stride"])
    ctx.number("kmax", ks[-1])
    ctx.number("lk_log_px", log_px.mean().item())
    remaining = log_px - bounds  # (len(ks), N): one draw of each bound per digit
    spread = remaining.std(1) / math.sqrt(len(subset))  # standard error over the digits
    for name, j in (("lk_1", 0), ("lk_kmax", -1)):
        ctx.number(name, bounds[j].mean().item())
        ctx.number(f"{name}_gap", remaining[j].mean().item())
        ctx.number(f"{name}_gap_se", spread[j].item())

    fig, (left, right) = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 4.0))
    left.axhline(log_px.mean().item(), color=plotting.INK, linewidth=1.2, label=r"$\log p(x)$")
    left.plot(ks, bounds.mean(1).numpy(), marker="o", color=Q_COLOR, label=r"$\mathcal{L}_k$")
    left.set_xscale("log")
    left.set_xlabel("$k$")
    left.set_ylabel(f"nats, mean of {len(subset)} digits")
    left.annotate(
        "ELBO", (1, bounds[0].mean().item()), xytext=(8, 0), textcoords="offset points",
        va="center",
    )  # fmt: skip
    left.legend(loc="lower right")

    def gap_curve(gap, se, label, color, marker):
        """log p(x) - L_k on log axes, where it stands clearly above its noise."""
        shown = gap > 2 * se
        right.errorbar(
            np.asarray(ks)[shown], gap[shown], yerr=se[shown], marker=marker, color=color,
            capsize=3, label=label,
        )  # fmt: skip

    gap_curve(remaining.mean(1).numpy(), spread.numpy(), "mean", Q_COLOR, "o")
    styles = {"crisp": ("#546e7a", "s"), "modes": (BEST_COLOR, "^"), "missed": ("#6a1b9a", "D")}
    for name, i in chosen.items():
        w = log_weights(model, x[i : i + 1], ks[-1] * settings["repeats"], SEED + 1 + i)
        w = w.view(settings["repeats"], ks[-1])  # independent sets of ks[-1] weights
        runs = torch.stack([torch.stack([bound(r[:, None], k)[0] for r in w]) for k in ks])
        remaining = (gaps.log_px[i] - runs.mean(1)).numpy()  # (len(ks),)
        noise = (runs.std(1) / math.sqrt(settings["repeats"])).numpy()
        ctx.number(f"{name}_lk_gap", float(remaining[-1]))
        ctx.number(f"{name}_lk_gap_se", float(noise[-1]))
        gap_curve(remaining, noise, titles[name], *styles[name])
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("$k$")
    right.set_ylabel(r"$\log p(x) - \mathcal{L}_k$, nats")
    fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    for ax in (left, right):
        ax.set_xticks(ks, [f"{k:,}" for k in ks])
        ax.minorticks_off()
    plotting.check_text_size(fig)
    ctx.save("bounds-vs-log-px.svg", plotting.svg_bytes(fig))

    # 4. The gap split, digit by digit.
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
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel("approximation gap, nats")
    ax.set_ylabel("amortization gap, nats")
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("gap-split.svg", plotting.svg_bytes(fig))
