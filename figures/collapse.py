"""Posterior collapse and two remedies: a 20-D VAE whose decoder is
autoregressive (each pixel also given the pixels before it) trained at a large
step size; the same run with KL annealing, with free bits, and at the
article's step size (the control: is the step size part of the recipe?).

For each: the KL of every latent dimension, sorted, on a log axis (a dimension
with a mean KL below ACTIVE_NATS carries next to nothing: collapsed), the test
ELBO itself (beta 1 and no free bits, whatever the run trained on), its
log p(x|z) term, and L_k on every fifth test digit as a tighter estimate of
log p(x), each run compared with the collapsed one digit by digit. The
annealed run's test KL once its weight is full, and at its end, from its
training history. Then prior samples of each, drawn pixel by pixel.
"""

import numpy as np
import torch

from vae import objectives
from vae.bounds import sample_log_weights
from vae.data import test_inputs
from vae.objectives import mean_iwae_bound
from vae.site import plotting
from vae.site.experiments import ACTIVE_NATS, COLLAPSE_LR, FREE_BITS, LEARNING_RATE
from vae.stats import mean_and_se
from vae.words import marginal_words

PAGE = "extensions.md"
MODELS = ("collapse", "collapse-warmup", "collapse-free-bits", "collapse-article-step")
KEYS = {
    "collapse": "plain",
    "collapse-warmup": "warmup",
    "collapse-free-bits": "free_bits",
    "collapse-article-step": "slow",
}
LABELS = {
    "collapse": "plain",
    "collapse-warmup": "KL annealing",
    "collapse-free-bits": f"free bits (λ = {FREE_BITS:g})",
    "collapse-article-step": "article's step",
}
K, STRIDE = 100, 5  # L_k with k codes, on every STRIDE-th test digit
KL_TICKS = (0.001, 0.01, 0.1, 1, 10)
SAMPLES, SEED = 8, 0
TIES, MARGINAL = 2, 3  # as on the rest of the page
HOLDS = 0.8  # the annealed run's KL "holds" if its last epoch keeps this share of it


def score(ctx, run, x, key):
    """The per-dimension KL (sorted), and per digit the ELBO and L_k; records the rest."""
    model = run.model
    with torch.no_grad():
        posterior = model.encode(x)
        kl_j = objectives.gaussian_kl_per_dimension(posterior.mu, posterior.logvar)
        terms = model.terms(x, torch.Generator().manual_seed(SEED))
    kl = np.sort(kl_j.mean(0).numpy())[::-1]
    ctx.number(f"{key}_active", int((kl > ACTIVE_NATS).sum()))
    elbo = (terms.log_px_given_z - terms.kl).double()
    for label, values in (
        ("elbo", elbo),
        ("rate", terms.kl.double()),
        ("reconstruction", terms.log_px_given_z.double()),
    ):
        mean, se = mean_and_se(values)
        ctx.number(f"{key}_{label}", mean)
        ctx.number(f"{key}_{label}_se", se)
    bound = mean_iwae_bound(sample_log_weights(model, x[::STRIDE], K, SEED), K)
    mean, se = mean_and_se(bound)
    ctx.number(f"{key}_bound", mean)
    ctx.number(f"{key}_bound_se", se)
    return kl, {"elbo": elbo, "bound": bound}


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    fig = plotting.canvas((plotting.CONTENT_WIDTH, 5.4))
    grid = fig.add_gridspec(2, len(MODELS), height_ratios=(2.2, 1))
    ax = fig.add_subplot(grid[0, :])
    scores, kls = {}, {}
    for i, name in enumerate(MODELS):
        run, key = ctx.model(name), KEYS[name]
        x = test_inputs(dataset, run.config.data.binarize)
        kls[key], scores[key] = score(ctx, run, x, key)
        ax.plot(np.arange(1, kls[key].size + 1), kls[key], marker="o", label=LABELS[name])
        with torch.no_grad():
            samples = run.model.sample_prior(SAMPLES, torch.Generator().manual_seed(SEED))
        plotting.digits(
            fig.add_subplot(grid[1, i]), samples.numpy(), SAMPLES // 2, LABELS[name].split(" (")[0]
        )
    plain = kls["plain"]
    ctx.number("plain_collapsed_max", float(plain[plain <= ACTIVE_NATS].max()))
    ctx.number("free_bits_kl_min", float(kls["free_bits"].min()))
    ctx.number("free_bits_kl_max", float(kls["free_bits"].max()))
    for key in ("warmup", "free_bits", "slow"):
        for label in ("elbo", "bound"):
            difference, se = mean_and_se(scores[key][label] - scores["plain"][label])
            ctx.number(f"{key}_minus_plain_{label}", difference)
            ctx.number(f"{key}_minus_plain_{label}_se", se)
            words = marginal_words(difference, se, TIES, MARGINAL)
            ctx.words(f"{key}_vs_plain_{label}", words)
    warmup = ctx.model("collapse-warmup").config.train
    history = ctx.model("collapse-warmup").history
    full = warmup.warmup_epochs + 1  # the first epoch at full weight
    ctx.number("full_weight_epoch", full)
    ctx.number("epochs", warmup.epochs)
    # (A run shorter than its warm-up, as in the quick profile, gives its last epoch.)
    ctx.number("warmup_kl_full", history[min(full, len(history)) - 1]["test_kl"])
    ctx.number("warmup_kl_last", history[-1]["test_kl"])
    ctx.number("latent_dim", plain.size)
    ctx.number("test_digits", len(x))
    ctx.number("bound_digits", len(scores["plain"]["bound"]))
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("free_bits", FREE_BITS)
    ctx.number("k", K)
    ctx.number("learning_rate", COLLAPSE_LR)
    ctx.number("article_learning_rate", LEARNING_RATE)
    ctx.number("step_ratio", COLLAPSE_LR / LEARNING_RATE)
    ax.axhline(ACTIVE_NATS, color="0.4", linestyle="--", linewidth=1, label="active above")
    ax.set_yscale("log")
    ax.set_ylim(KL_TICKS[0], 300)  # room above the lines for the legend
    ax.set_yticks(KL_TICKS, [f"{tick:g}" for tick in KL_TICKS])
    ax.set_xticks(np.arange(1, plain.size + 1)[::2])
    ax.set_xlabel("latent dimension, sorted by mean KL")
    ax.set_ylabel("mean KL, nats")
    ax.legend(loc="upper right", ncol=2)
    plotting.check_text_size(fig)
    ctx.save("collapse.svg", plotting.svg_bytes(fig))
    verdicts(ctx, scores)


def verdicts(ctx, scores):
    """The sentences that read the comparisons, written from them."""
    n, w = ctx.numbers, ctx.recorded_words
    undone = n["warmup_active"] > n["plain_active"]
    elbo = w["warmup_vs_plain_elbo"]
    holds = n["warmup_kl_last"] >= HOLDS * n["warmup_kl_full"]
    if undone and elbo == "above" and holds:
        reading = (
            "Annealing found a better ELBO with more of the code in use, and kept most of "
            "that code once the weight was full: after runs this short, the plain run's "
            "collapse is not the best ELBO this model can reach. Whether the annealed run "
            "would keep its code under the full ELBO for longer, these runs do not show."
        )
    elif undone and elbo.endswith("above"):
        reading = (
            "Annealing kept more of the code in use, and the ELBO is only marginally better "
            "or the code faded at full weight: weak evidence, in runs this short, that the "
            "plain run's collapse cost it anything."
        )
    elif undone:
        reading = (
            "Annealing kept more of the code in use, but in runs this short that did not "
            "buy a better ELBO."
        )
    else:
        reading = "Annealing did not bring the code back in these runs."
    ctx.words("warmup_reading", reading)

    kept = n["slow_active"] > n["plain_active"]
    ctx.words(
        "slow_reading",
        "The large step is part of this recipe, though a longer run at the small step "
        "might still collapse."
        if kept
        else "The large step is not what makes this model collapse.",
    )
    slower = kept and w["slow_vs_plain_elbo"].endswith("below")
    ctx.words(
        "slow_elbo_reading",
        "A code in use is no guarantee of a better model after a fixed number of epochs."
        if slower
        else "",
    )

    lam, low, high = FREE_BITS, n["free_bits_kl_min"], n["free_bits_kl_max"]
    ctx.words(
        "free_bits_spread",
        "near λ"
        + (
            " (the floor is on each training batch's average, so on the test digits a "
            "dimension can sit a little below it)"
            if low < lam
            else ""
        )
        if high < 2 * lam
        else "above λ",
    )
    # Does the tighter bound narrow the free-bits run's deficit? On the same digits.
    elbo_part = slice(None, None, STRIDE)
    narrowing = (scores["free_bits"]["bound"] - scores["plain"]["bound"]) - (
        scores["free_bits"]["elbo"][elbo_part] - scores["plain"]["elbo"][elbo_part]
    )
    mean, se = mean_and_se(narrowing)
    ctx.number("free_bits_narrowing", mean)
    ctx.number("free_bits_narrowing_se", se)
    ctx.words(
        "free_bits_reading",
        "on those digits the tighter bound narrows its deficit, so part of what it lost is in "
        "how well its encoder fits the posterior, which the tighter bound partly forgives"
        if mean > TIES * se
        else "on those digits the tighter bound does not narrow its deficit",
    )
