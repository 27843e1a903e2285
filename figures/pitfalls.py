"""Three mistakes, each shown by a run.

1. Averaging the reconstruction term over pixels while summing the KL trains
   the beta = 784 objective (divided by 784): the codes carry almost nothing.
2. Binary cross-entropy on gray levels is not a likelihood of the data: even a
   perfect reconstruction x_hat = x pays the entropy of each gray pixel.
3. Posterior collapse: with a large beta most latent dimensions carry no
   information (their KL is near zero); the per-dimension KL shows it.
"""

import numpy as np
import torch
import torch.nn.functional as F

from vae import objectives
from vae.data import test_inputs, to_unit_interval
from vae.site import plotting
from vae.site.experiments import PIXELS, beta_name
from vae.train import evaluate

PAGE = "results.md"
MODELS = (
    "vae-20d-beta-784",
    "vae-20d-gray",
    "vae-20d-beta-1",
    "vae-20d-beta-8",
)
ACTIVE_NATS = 0.1  # a latent dimension whose mean KL exceeds this counts as active
GRAY = (0.05, 0.95)  # a pixel strictly between these levels counts as gray
SEED = 0


def per_dimension_kl(run, x):
    """Mean over x of KL(q(z_j|x) || N(0, 1)) for each latent dimension j: shape (D,)."""
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
    ctx.number("mean_loss_kl", result["kl"])
    ctx.number("mean_loss_elbo", result["elbo"])
    samples = run.model.sample_prior(24, torch.Generator().manual_seed(SEED))
    ctx.save("mean-loss-samples.png", plotting.grid_png(samples.numpy(), 12))

    # 2. Binary cross-entropy on gray levels: its floor is the pixels' entropy.
    gray = to_unit_interval(dataset.test_images)
    floor = F.binary_cross_entropy(gray, gray, reduction="none").flatten(1).sum(1)  # (N,)
    ctx.number("bce_floor_mean", float(floor.mean()))
    gray_run = ctx.model("vae-20d-gray")
    gray_result = evaluate(gray_run.model, gray)
    ctx.number("gray_loss", -gray_result["elbo"])
    ctx.number("gray_loss_above_floor", -gray_result["elbo"] - float(floor.mean()))
    gray_pixels = ((gray > GRAY[0]) & (gray < GRAY[1])).float().mean(dim=(1, 2))
    ctx.number("gray_pixel_share", float(gray_pixels.mean()))
    ctx.number("gray_low", GRAY[0])
    ctx.number("gray_high", GRAY[1])

    # 3. Collapse: per-dimension KL at beta = 1 and at the largest beta of the sweep.
    fig, ax = plotting.figure(figsize=(6.4, 3.4))
    width = 0.4
    for offset, (beta, label) in zip(
        (-width / 2, width / 2), ((1.0, "1"), (8.0, "8")), strict=True
    ):
        kl = np.sort(per_dimension_kl(ctx.model(beta_name(beta)), x))[::-1]
        ax.bar(np.arange(kl.size) + offset, kl, width, label=rf"$\beta = {label}$")
        ctx.number(f"active_beta_{label}", int((kl > ACTIVE_NATS).sum()))
    kl_mean = per_dimension_kl(run, x)
    ctx.number("active_mean_loss", int((kl_mean > ACTIVE_NATS).sum()))
    ax.set_xlabel("latent dimension (sorted by KL)")
    ax.set_ylabel("mean KL, nats")
    ax.legend()
    ctx.save("kl-per-dimension.svg", plotting.svg_bytes(fig))
    ctx.number("active_threshold", ACTIVE_NATS)
    ctx.number("latent_dim", int(kl_mean.size))
