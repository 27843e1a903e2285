"""Rate against distortion for 20-D VAEs trained with different beta, and prior
samples from both ends of the sweep.

Rate is KL(q(z|x) || p(z)), the nats the code carries about x; distortion is
-E_q[log p(x|z)], the nats still needed to describe x given the code. Both are
test-set means.
"""

import torch

from vae.data import test_inputs
from vae.site import plotting
from vae.site.experiments import BETAS, beta_name
from vae.train import evaluate

PAGE = "results.md"
MODELS = (
    "vae-20d-beta-0.25",
    "vae-20d-beta-0.5",
    "vae-20d-beta-1",
    "vae-20d-beta-2",
    "vae-20d-beta-4",
    "vae-20d-beta-8",
)
SEED = 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    rates, distortions, elbos = [], [], []
    for beta in BETAS:
        run = ctx.model(beta_name(beta))
        result = evaluate(run.model, test_inputs(dataset, run.config.data.binarize))
        rates.append(result["kl"])
        elbos.append(result["elbo"])
        distortions.append(-result["log_px_given_z"])
        key = f"beta_{beta:g}".replace(".", "_")
        ctx.number(f"{key}_rate", result["kl"])
        ctx.number(f"{key}_distortion", -result["log_px_given_z"])
        ctx.number(f"{key}_elbo", result["elbo"])

    fig, ax = plotting.figure(figsize=(5.2, 3.8))
    ax.plot(rates, distortions, marker="o")
    for beta, rate, distortion in zip(BETAS, rates, distortions, strict=True):
        ax.annotate(
            rf"$\beta={beta:g}$",
            (rate, distortion),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=9,
        )
    ax.set_xlabel(r"rate: KL$(q(z \mid x) \,\|\, p(z))$, nats")
    ax.set_ylabel(r"distortion: $-\mathbb{E}_q[\log p(x \mid z)]$, nats")
    ctx.save("rate-distortion.svg", plotting.svg_bytes(fig))

    for beta in (BETAS[0], BETAS[-1]):
        run = ctx.model(beta_name(beta))
        samples = run.model.sample_prior(24, torch.Generator().manual_seed(SEED))
        ctx.save(f"samples-beta-{beta:g}.png", plotting.grid_png(samples.numpy(), 12))
    ctx.number("best_elbo_beta", BETAS[max(range(len(BETAS)), key=elbos.__getitem__)])
    ctx.number("epochs", ctx.model(beta_name(BETAS[0])).config.train.epochs)
    ctx.number("beta_low", BETAS[0])
    ctx.number("beta_high", BETAS[-1])
