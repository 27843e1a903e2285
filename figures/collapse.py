"""Posterior collapse and two remedies: a 20-D VAE whose decoder is
autoregressive (each pixel also given the pixels before it) trained at a large
step size, then the same run with KL annealing and with free bits.

For each: the KL of every latent dimension, sorted, on a log axis (a dimension
with a mean KL below ACTIVE_NATS carries next to nothing: collapsed), the test
ELBO (beta 1 and no free bits, whatever the run trained on), the reconstruction
term, and L_k on every fifth test digit as a tighter estimate of log p(x), each
remedy compared with the collapsed run digit by digit. Then prior samples of
each, drawn pixel by pixel.
"""

import numpy as np
import torch

from vae import objectives
from vae.bounds import sample_log_weights
from vae.data import test_inputs
from vae.objectives import mean_iwae_bound
from vae.site import plotting
from vae.site.experiments import (
    ACTIVE_NATS,
    COLLAPSE_LR,
    FREE_BITS,
    LEARNING_RATE,
    WARMUP_EPOCHS,
)
from vae.stats import mean_and_se
from vae.words import compare_words

PAGE = "extensions.md"
MODELS = ("collapse", "collapse-warmup", "collapse-free-bits")
KEYS = {"collapse": "plain", "collapse-warmup": "warmup", "collapse-free-bits": "free_bits"}
LABELS = {
    "collapse": "plain ELBO",
    "collapse-warmup": f"KL annealing ({WARMUP_EPOCHS} epochs)",
    "collapse-free-bits": f"free bits (λ = {FREE_BITS:g})",
}
K, STRIDE = 100, 5  # L_k with k codes, on every STRIDE-th test digit
KL_TICKS = (0.001, 0.01, 0.1, 1, 10)
SAMPLES, TIES, SEED = 8, 2, 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("warmup_epochs", WARMUP_EPOCHS)
    ctx.number("free_bits", FREE_BITS)
    ctx.number("k", K)
    ctx.number("learning_rate", COLLAPSE_LR)
    ctx.number("step_ratio", COLLAPSE_LR / LEARNING_RATE)
    fig = plotting.canvas((plotting.CONTENT_WIDTH, 5.4))
    grid = fig.add_gridspec(2, 3, height_ratios=(2.2, 1))
    ax = fig.add_subplot(grid[0, :])
    elbos, bounds = {}, {}
    for i, name in enumerate(MODELS):
        run = ctx.model(name)
        model, key = run.model, KEYS[name]
        x = test_inputs(dataset, run.config.data.binarize)
        with torch.no_grad():
            posterior = model.encode(x)
            kl_j = objectives.gaussian_kl_per_dimension(posterior.mu, posterior.logvar)
            terms = model.terms(x, torch.Generator().manual_seed(SEED))
        kl = np.sort(kl_j.mean(0).numpy())[::-1]
        dims = np.arange(1, kl.size + 1)
        ax.plot(dims, kl, marker="o", label=LABELS[name])
        active = kl > ACTIVE_NATS
        ctx.number(f"{key}_active", int(active.sum()))
        if name == "collapse":  # how little the collapsed dimensions carry
            ctx.number("plain_collapsed_max", float(kl[~active].max()))
        if name == "collapse-free-bits":  # how close to lambda every dimension sits
            ctx.number("free_bits_kl_min", float(kl.min()))
            ctx.number("free_bits_kl_max", float(kl.max()))
        elbos[name] = (terms.log_px_given_z - terms.kl).double()
        for label, values in (
            ("elbo", elbos[name]),
            ("rate", terms.kl.double()),
            ("reconstruction", terms.log_px_given_z.double()),
        ):
            mean, se = mean_and_se(values)
            ctx.number(f"{key}_{label}", mean)
            ctx.number(f"{key}_{label}_se", se)
        weights = sample_log_weights(model, x[::STRIDE], K, SEED)
        bounds[name] = mean_iwae_bound(weights, K)
        ctx.number(f"{key}_bound", float(bounds[name].mean()))
        with torch.no_grad():
            samples = model.sample_prior(SAMPLES, torch.Generator().manual_seed(SEED))
        sample_ax = fig.add_subplot(grid[1, i])
        plotting.digits(sample_ax, samples.numpy(), SAMPLES // 2, LABELS[name].split(" (")[0])
    ctx.number("latent_dim", kl.size)
    ctx.number("test_digits", len(x))
    ctx.number("bound_digits", len(bounds["collapse"]))
    for name in MODELS[1:]:
        key = KEYS[name]
        for label, scores in (("elbo", elbos), ("bound", bounds)):
            difference, se = mean_and_se(scores[name] - scores["collapse"])
            ctx.number(f"{key}_minus_plain_{label}", difference)
            ctx.number(f"{key}_minus_plain_{label}_se", se)
            ctx.words(f"{key}_vs_plain_{label}", compare_words(difference, se, TIES))
    ax.axhline(ACTIVE_NATS, color="0.4", linestyle="--", linewidth=1, label="active above")
    ax.set_yscale("log")
    ax.set_ylim(KL_TICKS[0], 300)  # room above the lines for the legend
    ax.set_yticks(KL_TICKS, [f"{tick:g}" for tick in KL_TICKS])
    ax.set_xticks(dims[::2])
    ax.set_xlabel("latent dimension, sorted by mean KL")
    ax.set_ylabel("mean KL, nats")
    ax.legend(loc="upper right", ncol=2)
    plotting.check_text_size(fig)
    ctx.save("collapse.svg", plotting.svg_bytes(fig))
    verdicts(ctx)


def verdicts(ctx):
    """The sentences that read the comparisons, written from them."""
    n = ctx.numbers
    undone = n["warmup_active"] > n["plain_active"]
    better = ctx.recorded_words["warmup_vs_plain_elbo"] == "above"
    lead = "Annealing keeps more of the code in use" if undone else "Annealing does not undo it"
    if undone:
        lead += (
            ", and the code it keeps pays for itself"
            if better
            else (", but the code it keeps does not pay for itself")
        )
    ctx.words("warmup_lead", lead)
    ctx.words(
        "warmup_reading",
        "The plain run's collapse was a poor place for training to stop, not what the ELBO wanted."
        if better
        else "This run gives no sign that the plain run's collapse cost it anything.",
    )
    gain = n["free_bits_reconstruction"] - n["plain_reconstruction"]
    extra = n["free_bits_rate"] - n["plain_rate"]
    ctx.words(
        "free_bits_trade",
        ("The reconstruction improves" if gain > 0 else "The reconstruction does not improve")
        + (", by less than the extra rate costs" if 0 < gain < extra else "")
        + (", by more than the extra rate costs" if gain >= extra > 0 else ""),
    )
