"""The IWAE objective on a 20-D code: how many of the code's dimensions each
model uses, and its bounds, against the VAE trained the same way.

The two models are the beta sweep's 20-D VAE at beta = 1 and the same model
trained on L_k (k of the 2-D IWAE). A dimension's activity is the variance over
the test digits of its posterior mean (`vae.aggregate.unit_activity`, Burda et
al.'s measure), and it is active above their threshold. On every STRIDE-th test
digit, DRAWS codes from q(z|x) give each model's ELBO (their mean log-weight),
L_k averaged over the disjoint blocks of k, and L_DRAWS, each compared with the
VAE's digit by digit.
"""

import numpy as np

from vae.aggregate import ACTIVE_UNIT, unit_activity
from vae.bounds import sample_log_weights
from vae.data import test_inputs
from vae.objectives import iwae_bound, mean_iwae_bound
from vae.site import plotting
from vae.stats import mean_and_se
from vae.words import count_words, marginal_words

PAGE = "extensions.md"
MODELS = ("vae-20d-beta-1", "iwae-20d")
TITLES = {"vae-20d-beta-1": "VAE", "iwae-20d": "IWAE objective"}
KEYS = {"vae-20d-beta-1": "vae", "iwae-20d": "iwae"}
COLORS = {"vae-20d-beta-1": "#6d4c41", "iwae-20d": "#1565c0"}
SETTINGS = {"quick": {"stride": 25, "draws": 100}, "full": {"stride": 5, "draws": 1000}}
TIES = 2  # as extension_scores: within this many standard errors is "level"
MARGINAL = 3
SEED = 0


def make(ctx):
    settings = SETTINGS[ctx.profile]
    dataset = ctx.dataset("mnist5k")
    runs = {name: ctx.model(name) for name in MODELS}
    x = test_inputs(dataset, "dynamic")
    k = runs["iwae-20d"].config.train.k
    dims = int(runs["iwae-20d"].config.model.latent_dim)
    activity, bounds = {}, {}
    for name, run in runs.items():
        activity[name] = unit_activity(run.model.encode(x).mu.detach()).numpy()
        weights = sample_log_weights(run.model, x[:: settings["stride"]], settings["draws"], SEED)
        bounds[name] = {
            "elbo": weights.mean(dim=0),
            "lk": mean_iwae_bound(weights, k),
            "ldraws": iwae_bound(weights),
        }
        key = KEYS[name]
        ctx.number(f"{key}_active", int((activity[name] > ACTIVE_UNIT).sum()))
        ctx.number(f"{key}_ldraws", float(bounds[name]["ldraws"].mean()))
    for bound in ("elbo", "lk", "ldraws"):
        d, se = mean_and_se(bounds["iwae-20d"][bound] - bounds["vae-20d-beta-1"][bound])
        ctx.number(f"d_{bound}", d)
        ctx.number(f"d_{bound}_se", se)
        ctx.words(f"{bound}_words", marginal_words(d, se, TIES, MARGINAL))
    # L_DRAWS - ELBO, a lower bound on each digit's gap log p(x) - ELBO.
    gap = {name: b["ldraws"] - b["elbo"] for name, b in bounds.items()}
    d, se = mean_and_se(gap["iwae-20d"] - gap["vae-20d-beta-1"])
    ctx.number("d_gap", d)
    ctx.number("d_gap_se", se)
    ctx.words(
        "gap_words",
        marginal_words(d, se, TIES, MARGINAL, "wider than", "as wide as", "narrower than"),
    )
    counts = {name: int((a > ACTIVE_UNIT).sum()) for name, a in activity.items()}
    ctx.words("units_sentence", units_sentence(counts["vae-20d-beta-1"], counts["iwae-20d"], dims))
    ctx.number("dims", dims)
    ctx.number("k", k)
    ctx.number("draws", settings["draws"])
    ctx.number("digits", len(bounds["iwae-20d"]["elbo"]))
    ctx.number("test_digits", len(x))
    ctx.number("epochs", runs["iwae-20d"].config.train.epochs)
    ctx.number("threshold", ACTIVE_UNIT)
    draw(ctx, activity)


def units_sentence(vae: int, iwae: int, dims: int) -> str:
    """What the two counts of active dimensions say about Burda et al.'s finding."""
    if vae == iwae == dims:
        return (
            "Neither model leaves a dimension inactive, every one far above the threshold, "
            "so Burda et al.'s difference, which needs dimensions the VAE switches off, "
            "cannot show here; whether a larger code or a longer run would change that, "
            "these runs do not show."
        )
    if iwae > vae:
        return f"The IWAE uses {count_words(iwae - vae)} more, as Burda et al. found."
    if iwae == vae:
        return "They use as many, where Burda et al.'s IWAE used more."
    return f"The IWAE uses {count_words(vae - iwae)} fewer, unlike Burda et al.'s."


def draw(ctx, activity):
    """Each model's activity, dimension by dimension from the most active, on a log axis."""
    fig, ax = plotting.figure(figsize=(plotting.CONTENT_WIDTH * 0.7, 3.2))
    for (name, values), marker in zip(activity.items(), ("s", "o"), strict=True):
        ranked = np.sort(values)[::-1]
        ax.semilogy(
            np.arange(1, len(ranked) + 1),
            ranked,
            marker=marker,
            color=COLORS[name],
            label=TITLES[name],
        )
    ax.axhline(ACTIVE_UNIT, color=plotting.INK, linestyle=":", linewidth=1.2)
    ax.annotate(
        "active above this line",
        (1, ACTIVE_UNIT),
        xytext=(0, 4),
        textcoords="offset points",
        va="bottom",
        color=plotting.INK,
    )
    ax.set_xlabel("dimension, most active first")
    ax.set_ylabel("activity (variance of\nthe posterior mean)")
    ax.legend(loc="center left")
    ctx.save("iwae-units.svg", plotting.svg_bytes(fig))
