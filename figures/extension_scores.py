"""Part 4's 2-D models side by side, scored by their exact log p(x): the VAE,
the VAE trained on the importance-weighted bound, the VAE with a
full-covariance q, with a flow q, with a VampPrior, and with a second code
above z. Each differs from the VAE in that one thing, and trained for as many
epochs from the same seed.

On the same test digits, for every model: log p(x) on the grid (`vae.exact`),
the ELBO of its encoder's q(z|x) and the split of the gap between them
(`vae.gaps`: the approximation gap against the best diagonal Gaussian, and the
amortization gap; for the two-level model also the gap of its top layer,
`vae.gaps.top_layer_gap`, since the bound it trains is below its q(z|x)'s
ELBO by that much), the rate KL(q(z|x) || p(z)) (in closed form where q is
Gaussian and p(z) is N(0, I), else averaged over Monte Carlo codes), and the
cost of its training in matrix-product FLOPs. The VAE and the IWAE are also
scored by L_k at the IWAE's k, the bound the IWAE was trained on.
Each model is also compared with the VAE digit by digit, which removes the
spread between digits from the standard error of the difference.

The maths is in `vae.exact` and `vae.gaps`; this script computes, records and
draws.
"""

import dataclasses

import numpy as np
import torch

from vae import exact
from vae.bounds import check_gap_split, sample_log_weights
from vae.data import test_inputs
from vae.gaps import TOP_CODES, TOP_DRAWS, inference_gaps, top_layer_gap
from vae.objectives import mean_iwae_bound
from vae.site import plotting
from vae.stats import mean_and_se
from vae.train import training_flops
from vae.words import count_words, every_words, marginal_words, quantifier

PAGE = "extensions.md"
# name in the store: key on the page, label in the figure
ROWS = {
    "vae-2d": ("vae", "VAE"),
    "iwae-2d": ("iwae", "IWAE objective"),
    "vae-2d-full": ("full", "full-covariance q"),
    "vae-2d-flow": ("flow", "flow q"),
    "vae-2d-vamp": ("vamp", "VampPrior"),
    "vae-2d-hierarchy": ("hier", "two levels"),
}
RICHER = ("full", "flow")  # the richer families of q
DIAGONAL_Q = ("vamp", "hier")  # other changes, with the VAE's diagonal q
MODELS = (  # as ROWS
    "vae-2d",
    "iwae-2d",
    "vae-2d-full",
    "vae-2d-flow",
    "vae-2d-vamp",
    "vae-2d-hierarchy",
)
# Every STRIDE-th test digit (the test digits are sorted by class: a stride keeps
# every class): the VampPrior spreads its codes wide, and its grid costs five
# times the VAE's.
ROWS_BY_KEY = {key: label for key, label in ROWS.values()}
STRIDE = {"quick": 25, "full": 5}
GRIDS = {"quick": exact.Grid(refine=2), "full": exact.Grid()}
# The two-level model's learned prior is wider than N(0, I), and its codes and
# posteriors spread wider with it: cells this much wider keep about as many
# cells per posterior, at a fraction of the cost. The build checks its
# log p(x) against the default grid on the first CHECK_DIGITS digits.
WIDER = {"vae-2d-hierarchy": 1.5}
CHECK_DIGITS = 10
RATE_CODES = 16  # codes per digit for the Monte Carlo KL of q's without a closed form
TIES = 2  # differences within this many standard errors are "level"
MARGINAL = 3  # and within this many, "marginally" above or below
BOUND_DRAWS = 40  # independent L_k per digit, averaged
SEED = 0
APPROXIMATION_COLOR = "#607d8b"
AMORTIZATION_COLOR = "#d84315"
TOP_COLOR = "#f9a825"


def score(run, x, grid, generator, train_digits):
    """log p(x), the bound it trains, the gap's split and the rate of a model, per
    digit, and the FLOPs of its training."""
    model = run.model
    gaps = inference_gaps(model, x, grid)
    check_gap_split(gaps.approximation, gaps.amortization)  # each part >= 0
    top = top_layer_gap(model, x, generator)  # zero but for the two-level model
    with torch.no_grad():
        posterior = model.encode(x)
        try:  # the rate in closed form, where q is Gaussian and p(z) is N(0, I)
            kl = model.kl(posterior)
        except ValueError:  # no closed form: averaged over codes drawn from q
            kl = model.sample_terms(x, RATE_CODES, generator, posterior).kl.mean(0)
    return {
        "log_px": gaps.log_px,
        "elbo": gaps.elbo - top,
        "gap": gaps.gap + top,
        "approximation": gaps.approximation,
        "amortization": gaps.amortization,
        "top": top,
        "kl": kl.double(),
        "gflops": training_flops(model, x, run.config.train, train_digits) / 1e9,
    }


def cremer_words(verdicts: dict[str, str]) -> str:
    """What the richer families' approximation gaps say of Cremer et al.'s adaptation,
    from each one's words against the VAE ("above", "marginally above", ...)."""
    risen = [name for name, words in verdicts.items() if words.endswith("above")]
    others = [name for name in verdicts if name not in risen]
    if not risen:
        return "neither rises measurably above the VAE's"
    marginal = all(verdicts[name].startswith("marginally") for name in risen)
    said = f"the {' and the '.join(risen)} model's gap rises{', marginally,' if marginal else ''}"
    return f"{said} but the {' and the '.join(others)} model's does not" if others else said


def diagonal_words(verdicts: dict[str, str], risen: bool) -> str:
    """What the gaps of the models whose q is still diagonal (each one's words against
    the VAE) add: if one moves measurably, this gap moves for reasons other than q's
    family; `risen` when a richer family's gap rose."""
    if any(words != "level with" for words in verdicts.values()):
        if risen:
            return (
                "so this gap moves for reasons other than a richer family too, and a rise alone "
                "is no clear sign of that adaptation"
            )
        return (
            "so this gap moves for reasons other than a richer family, and one run of each can "
            "neither show nor rule out that adaptation"
        )
    if risen:
        return (
            "so only a richer family moves it, as that adaptation predicts, though in one "
            "training run each this is weak"
        )
    return "so nothing in these runs moves this gap measurably: no sign of that adaptation"


def comparison(difference, se, *words):
    """`vae.words.marginal_words` at this page's TIES and MARGINAL."""
    return marginal_words(difference, se, TIES, MARGINAL, *words)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    generator = torch.Generator().manual_seed(SEED)
    scores = {}
    for name, (key, _) in ROWS.items():
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)[:: STRIDE[ctx.profile]]
        grid = GRIDS[ctx.profile]
        wider = dataclasses.replace(grid, coarse_step=grid.coarse_step * WIDER.get(name, 1))
        scores[key] = score(run, x, wider, generator, len(dataset.train_images))
        if name in WIDER:
            default = exact.log_marginal(run.model, x[:CHECK_DIGITS], grid)
            ctx.number(
                f"{key}_grid_check",
                float((default - scores[key]["log_px"][:CHECK_DIGITS]).abs().max()),
            )
            ctx.number(f"{key}_grid_wider", WIDER[name])
    ctx.number("grid_check_digits", CHECK_DIGITS)
    ctx.number("top_codes", TOP_CODES)
    ctx.number("top_draws", TOP_DRAWS)
    k = ctx.model("iwae-2d").config.train.k
    ctx.number("k", k)
    shortfalls = {}
    for key, name in (("vae", "vae-2d"), ("iwae", "iwae-2d")):
        log_w = sample_log_weights(ctx.model(name).model, x, k * BOUND_DRAWS, SEED)
        shortfalls[key] = scores[key]["log_px"] - mean_iwae_bound(log_w, k)  # log p(x) - L_k
        mean, se = mean_and_se(shortfalls[key])
        ctx.number(f"{key}_lk_shortfall", mean)
        ctx.number(f"{key}_lk_shortfall_se", se)
    difference, se = mean_and_se(shortfalls["iwae"] - shortfalls["vae"])
    ctx.number("lk_shortfall_d", difference)
    ctx.number("lk_shortfall_d_se", se)
    ctx.words(
        "lk_shortfall_words",
        comparison(difference, se, "larger than", "as large as", "smaller than"),
    )
    ratio = float(scores["iwae"]["amortization"].mean() / scores["vae"]["amortization"].mean())
    ctx.number("iwae_amortization_ratio", ratio)
    ctx.number("digits", len(x))
    per_class = dataset.test_labels[:: STRIDE[ctx.profile]].bincount()
    fewest, most = int(per_class.min()), int(per_class.max())
    each = count_words(most) if fewest == most else f"{fewest} to {most}"
    ctx.words("digits_words", f"{every_words(STRIDE[ctx.profile], 'one')}, {each} of each class")
    ctx.number("epochs", run.config.train.epochs)
    ctx.number("rate_codes", RATE_CODES)
    ctx.number("ties", TIES)
    ctx.number("marginal", MARGINAL)
    ctx.number("bound_draws", BOUND_DRAWS)
    base = scores["vae"]
    for key, s in scores.items():
        top = ("top",) if key == "hier" else ()
        for quantity in ("log_px", "elbo", "gap", "approximation", "amortization", "kl", *top):
            mean, se = mean_and_se(s[quantity])
            ctx.number(f"{key}_{quantity}", mean)
            ctx.number(f"{key}_{quantity}_se", se)
        ctx.number(f"{key}_gflops", s["gflops"])
        if key == "vae":
            continue
        if key == "iwae":  # how much of its gap is the encoder's, for a sentence on "it"
            word = quantifier(float(s["amortization"].sum() / s["gap"].sum()))
            ctx.words("iwae_amortization_words", {"few": "little"}.get(word, word).capitalize())
        split = ("approximation",) if key in RICHER + DIAGONAL_Q else ()
        split += ("amortization",) if key == "hier" else ()
        for quantity in ("log_px", "elbo", "gap", *split):  # digit by digit against the VAE
            difference, se = mean_and_se(s[quantity] - base[quantity])
            ctx.number(f"{key}_d_{quantity}", difference)
            ctx.number(f"{key}_d_{quantity}_se", se)
            ctx.words(f"{key}_{quantity}_words", comparison(difference, se))
    # Cremer et al.: a richer q frees the decoder to make posteriors that a diagonal
    # Gaussian fits less well, which shows as an approximation gap, measured against
    # the diagonal family, above the VAE's.
    words = ctx.recorded_words
    verdicts = {ROWS_BY_KEY[key]: words[f"{key}_approximation_words"] for key in RICHER}
    ctx.words("cremer_words", cremer_words(verdicts))
    risen = any(v.endswith("above") for v in verdicts.values())
    diagonal = {key: words[f"{key}_approximation_words"] for key in DIAGONAL_Q}
    ctx.words("diagonal_words", diagonal_words(diagonal, risen))
    figure(ctx, scores)


def figure(ctx, scores):
    """Left: each model's log p(x) and ELBO against the VAE's, digit by digit.
    Right: each model's gap, split into its approximation and amortization parts."""
    labels = [label for _, label in ROWS.values()]
    keys = [key for key, _ in ROWS.values()]
    rows = np.arange(len(keys))[::-1]  # the VAE on top
    fig, (left, right) = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 3.6), sharey=True)
    base = scores["vae"]
    series = ((0.12, "log_px", "o", "log p(x)"), (-0.12, "elbo", "s", "ELBO"))
    for offset, quantity, marker, name in series:
        diffs = [mean_and_se(scores[k][quantity] - base[quantity]) for k in keys]
        left.errorbar(
            [d for d, _ in diffs], rows + offset, xerr=[2 * se for _, se in diffs],
            fmt=marker, capsize=3, label=name,
        )  # fmt: skip
    left.axvline(0, color="0.5", linewidth=0.8)
    left.set(yticks=rows, yticklabels=labels, xlabel="nats above the VAE")
    left.set_title("against the VAE", loc="left")
    left.legend(loc="upper left", bbox_to_anchor=(0.0, -0.28), ncols=2)
    approximation = [float(scores[k]["approximation"].mean()) for k in keys]
    amortization = [float(scores[k]["amortization"].mean()) for k in keys]
    right.barh(rows, approximation, color=APPROXIMATION_COLOR, label="approximation")
    gap_errors = [2 * mean_and_se(scores[k]["gap"])[1] for k in keys]
    right.barh(
        rows, amortization, left=approximation, color=AMORTIZATION_COLOR, label="amortization"
    )
    top = [float(scores[k]["top"].mean()) for k in keys]
    right.barh(
        rows, top, left=np.add(approximation, amortization), color=TOP_COLOR, label="top layer",
        xerr=gap_errors, capsize=3, error_kw={"color": "0.3", "linewidth": 1},
    )  # fmt: skip
    right.set(xlabel="nats")
    right.set_title("gap log p(x) − ELBO", loc="left")
    right.legend(loc="upper left", bbox_to_anchor=(0.0, -0.28), ncols=1)
    ctx.save("extension-scores.svg", plotting.svg_bytes(fig))
