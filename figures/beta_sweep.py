"""Rate against distortion for 20-D VAEs trained with different beta, with
lines of constant rate + distortion, and prior samples from both ends of the
sweep.

Rate R is KL(q(z|x) || p(z)), an upper bound on the mutual information
between x and z; distortion D is -E_q[log p(x|z)], estimated with one code
per digit. Both are test-set means. D + R is the negative ELBO, so along the
lines of slope -1 the ELBO is constant; a model trained with weight beta
minimises D + beta R.
"""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting
from vae.site.experiments import BETAS, beta_name
from vae.words import verdict

PAGE = "results.md"
MODELS = (
    "vae-20d-beta-0.25",
    "vae-20d-beta-0.5",
    "vae-20d-beta-1",
    "vae-20d-beta-2",
    "vae-20d-beta-4",
    "vae-20d-beta-8",
)
LEVEL_STEP = 10  # nats between the lines of constant D + R
SAMPLES, COLUMNS, SEED = 24, 12, 0
# The page quotes the rate, the distortion and the ELBO at the sweep's two ends,
# and the ELBO also at beta = 1, the plain VAE.
ENDS = (BETAS[0], BETAS[-1])


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    rates, distortions, elbos, per_digit = [], [], [], []
    for beta in BETAS:
        run = ctx.model(beta_name(beta))
        x = test_inputs(dataset, run.config.data.binarize)
        with torch.no_grad():
            terms = run.model.terms(x, torch.Generator().manual_seed(SEED))
        rate = terms.kl.double()
        distortion = -terms.log_px_given_z.double()
        elbo = -(rate + distortion)
        rates.append(float(rate.mean()))
        distortions.append(float(distortion.mean()))
        elbos.append(float(elbo.mean()))
        per_digit.append(elbo)
        key = f"beta_{beta:g}".replace(".", "_")
        if beta in ENDS:
            ctx.number(f"{key}_rate", rates[-1])
            ctx.number(f"{key}_distortion", distortions[-1])
        if beta in (*ENDS, 1.0):
            ctx.number(f"{key}_elbo", elbos[-1])
            ctx.number(f"{key}_elbo_se", float(elbo.std() / elbo.numel() ** 0.5))

    fig, ax = plotting.figure(figsize=(5.4, 4.0))
    r_lim = (0, max(rates) * 1.1)
    d_lim = (min(distortions) - 8, max(distortions) + 8)
    # Lines of constant D + R, that is of constant ELBO.
    first = np.ceil((r_lim[0] + d_lim[0]) / LEVEL_STEP) * LEVEL_STEP
    levels = np.arange(first, r_lim[1] + d_lim[1], LEVEL_STEP)
    for i, level in enumerate(levels):
        d = [level - r for r in r_lim]
        label = f"$D + R$ constant, every {LEVEL_STEP} nats" if i == 0 else None
        ax.plot(r_lim, d, color="0.8", linewidth=0.8, zorder=0, label=label)
    best = int(np.argmax(elbos))
    label = rf"$D + R = {-elbos[best]:.1f}$, best ELBO"
    d = [-elbos[best] - r for r in r_lim]
    ax.plot(r_lim, d, color="0.4", linestyle="--", linewidth=1, label=label)
    ax.plot(rates, distortions, marker="o", zorder=3)
    for beta, rate, distortion in zip(BETAS, rates, distortions, strict=True):
        ax.annotate(
            rf"$\beta={beta:g}$",
            (rate, distortion),
            textcoords="offset points",
            xytext=(6, 4),
        )
    ax.set(xlim=r_lim, ylim=d_lim)
    ax.set_xlabel(r"rate $R$: KL$(q(z \mid x) \,\|\, p(z))$, nats")
    ax.set_ylabel(r"distortion $D$: $-\mathbb{E}_q[\log p(x \mid z)]$, nats")
    ax.legend(loc="upper right")
    plotting.check_text_size(fig)
    ctx.save("rate-distortion.svg", plotting.svg_bytes(fig))

    for beta in (BETAS[0], BETAS[-1]):
        run = ctx.model(beta_name(beta))
        prior = torch.Generator().manual_seed(SEED)
        samples = run.model.sample_prior(SAMPLES, prior).numpy()
        png = plotting.grid_png(samples, COLUMNS)
        ctx.save(f"samples-beta-{beta:g}.png", png)
    ctx.number("best_elbo_beta", BETAS[best])
    # How far the best ELBO is above the next best, digit by digit.
    second = int(np.argsort(elbos)[-2])
    margin = per_digit[best] - per_digit[second]
    ctx.number("second_elbo_beta", BETAS[second])
    margin_mean = float(margin.mean())
    ctx.number("best_margin", margin_mean)
    margin_se = float(margin.std() / margin.numel() ** 0.5)
    ctx.number("best_margin_se", margin_se)
    ratio = margin_mean / margin_se
    ctx.words(
        "best_margin_words",
        f"{ratio:.0f} times its standard error"
        if verdict(margin_mean, margin_se, 2) == "ahead"
        else "within twice its standard error, so these digits do not tell the two apart",
    )
    ctx.number("betas", len(BETAS))
    ctx.number("epochs", run.config.train.epochs)
    ctx.number("latent_dim", run.config.model.latent_dim)
    ctx.number("level_step", LEVEL_STEP)
    ctx.number("beta_low", BETAS[0])
    ctx.number("beta_high", BETAS[-1])
