"""Three mistakes, each shown by a run.

1. Averaging the reconstruction term over the P pixels while summing the KL
   is the beta = P objective divided by P; under Adam, which a constant
   factor on the loss barely changes, the run trained with the summed loss
   and beta = P stands for it. Its codes carry almost nothing.
2. Binary cross-entropy on gray levels: for a fixed code it equals the
   expected negative log-likelihood of a random binarization of the image,
   so the loss bounds that; its floor, paid at x_hat = x, is the entropy of
   the binarization noise. The gray-trained model is also scored on
   binarized digits.
3. Posterior collapse: with a large beta most latent dimensions carry almost
   no information (their KL is near zero); the per-dimension KL shows it.
"""

import numpy as np
import torch
import torch.nn.functional as F

from vae import objectives
from vae.data import test_inputs, to_unit_interval
from vae.site import plotting
from vae.site.experiments import ACTIVE_NATS, BETAS, PIXELS, beta_name
from vae.stats import mean_and_se
from vae.train import evaluate
from vae.words import counted

PAGE = "results.md"
MODELS = (
    "vae-20d-beta-784",
    "vae-20d-gray",
    "vae-20d-beta-1",
    "vae-20d-beta-8",
)
KL_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2)
GRAY = (0.05, 0.95)  # a pixel strictly between these levels counts as gray
SAMPLES, COLUMNS, SEED = 24, 12, 0


def elbo(model, x):
    """The ELBO of each digit, with one code each: shape (N,)."""
    with torch.no_grad():
        terms = model.terms(x, torch.Generator().manual_seed(SEED))
    return terms.log_px_given_z - terms.kl


def per_dimension_kl(run, x):
    """Mean over x of KL(q(z_j|x) || N(0, 1)) for each dimension j: (D,)."""
    with torch.no_grad():
        mu, logvar = run.model.encode(x)
    return objectives.gaussian_kl_per_dimension(mu, logvar).mean(dim=0).numpy()


def make(ctx):
    dataset = ctx.dataset("mnist5k")

    # 1. Sum versus mean.
    run = ctx.model(beta_name(float(PIXELS)))
    x = test_inputs(dataset, run.config.data.binarize)
    result = evaluate(run.model, x)
    ctx.number("pixels", PIXELS)
    mantissa, exponent = f"{result['kl']:.1e}".split("e")
    ctx.words("mean_loss_kl_tex", rf"{mantissa} \times 10^{{{int(exponent)}}}")
    prior = torch.Generator().manual_seed(SEED)
    samples = run.model.sample_prior(SAMPLES, prior).numpy()
    ctx.save("mean-loss-samples.png", plotting.grid_png(samples, COLUMNS))
    ctx.number("samples", SAMPLES)

    # 2. Binary cross-entropy on gray levels: its floor is the entropy of the
    # binarization noise, sum_i H(Bernoulli(x_i)).
    gray = to_unit_interval(dataset.test_images)
    entropy = F.binary_cross_entropy(gray, gray, reduction="none")
    floor = entropy.flatten(1).sum(1)  # (N,)
    ctx.number("bce_floor_mean", float(floor.mean()))
    gray_model = ctx.model("vae-20d-gray").model
    binarized = test_inputs(dataset, "fixed")  # as binarized models see them
    for key, inputs in (("gray", gray), ("gray_binarized", binarized)):
        key = f"{key}_elbo"
        value, se = mean_and_se(elbo(gray_model, inputs))
        ctx.number(key, value)
        ctx.number(f"{key}_se", se)
    gray_pixels = ((gray > GRAY[0]) & (gray < GRAY[1])).float().mean(dim=(1, 2))
    ctx.number("gray_pixel_share", float(gray_pixels.mean()))
    ctx.number("gray_low", GRAY[0])
    ctx.number("gray_high", GRAY[1])

    # 3. Collapse: per-dimension KL at beta = 1 and at the largest beta of the
    # sweep, on a log axis so that the collapsed dimensions' small KL shows.
    fig, ax = plotting.figure(figsize=(6.4, 3.6))
    width = 0.4
    shown = ((-width / 2, 1.0, "beta_1"), (width / 2, BETAS[-1], "beta_high"))
    for offset, beta, key in shown:
        kl = np.sort(per_dimension_kl(ctx.model(beta_name(beta)), x))[::-1]
        dims = np.arange(1, kl.size + 1)
        ax.bar(dims + offset, kl, width, label=rf"$\beta = {beta:g}$")
        active = kl > ACTIVE_NATS
        ctx.number(f"active_{key}", int(active.sum()))
        if key == "beta_high":  # the page describes the dimensions that collapsed here
            ctx.number(f"collapsed_{key}", int((~active).sum()))
            if not active.all():
                ctx.number(f"collapsed_min_{key}", float(kl[~active].min()))
                ctx.number(f"collapsed_max_{key}", float(kl[~active].max()))
    kl_mean = per_dimension_kl(run, x)
    ctx.words("active_mean_loss", counted(int((kl_mean > ACTIVE_NATS).sum())))
    line = {"color": "0.4", "linestyle": "--", "linewidth": 1}
    ax.axhline(ACTIVE_NATS, label="active above this line", **line)
    ax.set_yscale("log")
    ax.set_yticks(KL_TICKS, [f"{tick:g}" for tick in KL_TICKS])
    ax.set_xticks(dims)
    ax.set_xlabel("latent dimension, sorted by mean KL")
    ax.set_ylabel("mean KL, nats (log scale)")
    fig.legend(loc="outside upper center", ncol=3)
    plotting.check_text_size(fig)
    ctx.save("kl-per-dimension.svg", plotting.svg_bytes(fig))
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("latent_dim", int(kl_mean.size))
