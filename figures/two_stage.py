"""An autoencoder trained as the first stage of a latent generative model: a
small convolutional VAE with a 20-D code and a tiny KL weight, against the
same network at beta = 1. The tiny weight buys reconstructions, and leaves codes whose
distribution is far from the prior N(0, I), so codes drawn from the prior decode
badly. A second model fitted to the training digits' codes restores sampling;
the cheapest one is a Gaussian with a full covariance, fitted in closed form
(torch.distributions.MultivariateNormal), where Dai & Wipf (2019) fit a second
VAE and Rombach et al. (2022) a diffusion model.

For each model: the reconstruction term and the rate on the test digits; the
spread of its aggregate posterior q(z) over the training digits: the extreme
eigenvalues of its covariance, 1 if q(z) matched the prior; and how probable
the test digits' codes (the encoder's means) are under the prior and under the
Gaussian fitted to the training digits' codes.
"""

import math

import torch
from torch.distributions import MultivariateNormal

from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.objectives import gaussian_log_density
from vae.site import plotting
from vae.site.experiments import TINY_BETA
from vae.stats import mean_and_se

PAGE = "extensions.md"
MODELS = ("conv-20d-tiny-kl", "conv-20d")
KEYS = {"conv-20d-tiny-kl": "tiny", "conv-20d": "unit"}
SHOWN, SAMPLES = 8, 8
SEED = 0
SPREAD_TOLERANCE = 0.1  # "within 10 % of" the prior's own draws' score


def spread_words(score: float, own: float) -> str:
    """How the codes' mean log density under the prior compares with a prior draw's,
    as the words before "it": within SPREAD_TOLERANCE of it, relative, or far below or above."""
    if abs(score - own) <= SPREAD_TOLERANCE * abs(own):
        return f"within {100 * SPREAD_TOLERANCE:g} % of"
    return "far below" if score < own else "above"


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    ctx.number("tiny_beta", TINY_BETA)
    fig, axes = plotting.figure(5, 1, figsize=(plotting.CONTENT_WIDTH * 0.62, 4.75))
    for name in MODELS:
        key = KEYS[name]
        run = ctx.model(name)
        model = run.model
        x = test_inputs(dataset, run.config.data.binarize)
        train = binarize(to_unit_interval(dataset.train_images), fixed_generator())
        generator = torch.Generator().manual_seed(SEED)
        with torch.no_grad():
            terms = model.terms(x, generator)
            q = model.encode(train)
            codes = q.mu.double()  # (N, D)
            test_codes = model.encode(x).mu.double()
        # The aggregate posterior's covariance: the spread of the means plus each
        # q(z|x)'s own, on average; the identity if q(z) matched the prior.
        aggregate = torch.cov(codes.T) + torch.diag(q.logvar.double().exp().mean(0))
        for quantity, values in (("reconstruction", terms.log_px_given_z), ("rate", terms.kl)):
            mean, se = mean_and_se(values.double())
            ctx.number(f"{key}_{quantity}", mean)
            ctx.number(f"{key}_{quantity}_se", se)
        second = MultivariateNormal(codes.mean(0), covariance_matrix=torch.cov(codes.T))
        eigenvalues = torch.linalg.eigvalsh(aggregate)
        ctx.number(f"{key}_eig_min", float(eigenvalues.min()))
        ctx.number(f"{key}_eig_max", float(eigenvalues.max()))
        under_prior = gaussian_log_density(test_codes)  # log N(z; 0, I)
        under_second = second.log_prob(test_codes)
        for which, values in (("prior", under_prior), ("second", under_second)):
            mean, se = mean_and_se(values)
            ctx.number(f"{key}_{which}_log_density", mean)
            ctx.number(f"{key}_{which}_log_density_se", se)
        own = -0.5 * codes.shape[1] * (math.log(2 * math.pi) + 1)  # E log N(z) at z ~ N(0, I)
        ctx.words(f"{key}_prior_words", spread_words(float(under_prior.mean()), own))
        sampler = torch.Generator().manual_seed(SEED)
        prior_z = torch.randn(SAMPLES, codes.shape[1], generator=sampler, dtype=torch.float64)
        if key != "tiny":  # the same draws from the prior, through the beta = 1 decoder
            with torch.no_grad():
                images = model.decode_mean(prior_z.float()).numpy()
            plotting.digits(axes[-1], images, SHOWN, "β = 1, decoded from the prior N(0, I)")
            continue
        dim = codes.shape[1]
        ctx.number("latent_dim", dim)
        # E log N(z; 0, I) for z ~ N(0, I): what a code the prior itself drew scores.
        ctx.number("prior_own_log_density", own)
        shown = x[:: len(x) // SHOWN][:SHOWN]
        second_z = second.loc + prior_z @ second.scale_tril.T  # the same draws, reshaped
        with torch.no_grad():
            rows = [
                (shown, "test digits"),
                (model.reconstruct(shown), "rebuilt from their codes"),
                (model.decode_mean(prior_z.float()), "decoded from the prior N(0, I)"),
                (model.decode_mean(second_z.float()), "decoded from the fitted Gaussian"),
            ]
        for ax, (images, title) in zip(axes, rows, strict=False):
            plotting.digits(ax, images.numpy(), SHOWN, title)
    ctx.save("two-stage.svg", plotting.svg_bytes(fig))
