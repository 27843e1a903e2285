"""A Gaussian decoder on gray digits, its sigma fixed or learned (the sigma-VAE
of Rybkin, Daniilidis & Levine 2021): reconstructions and samples of each, and
the rate and distortion of each.

With p(x|z) = N(x; m(z), sigma^2 I) over P pixels, minus the ELBO is

    ||x - m(z)||^2 / (2 sigma^2) + KL + P log sigma + const,

so for a fixed sigma the loss is, up to a constant and a factor, the squared
error plus 2 sigma^2 times the KL: a fixed sigma is a beta in disguise. A
learned sigma is set by the data instead. Its optimum for given means is the
root mean squared error of the reconstructions (`vae.objectives.optimal_sigma`),
which this script computes as a second, closed-form check of the learned value.
The distortion is the squared error summed over pixels, averaged over test
digits and codes drawn from q(z|x); the rate is the KL term.
"""

import math

import numpy as np
import torch

from vae.data import test_inputs, to_unit_interval
from vae.objectives import optimal_sigma
from vae.site import plotting
from vae.site.experiments import SIGMAS, sigma_name
from vae.stats import mean_and_se
from vae.words import compare_words

PAGE = "extensions.md"
MODELS = ("sigma-vae-fixed-1", "sigma-vae-fixed-0.03", "sigma-vae-learned")
CODES = 4  # codes drawn from q(z|x) per test digit for the distortion and the ELBO
SHOWN, SAMPLES, COLUMNS = 4, 8, 4
TIES = 2
CLOSE = 0.03  # a learned sigma within 3 % of its optimum is "close to" it
BARELY = 1.5  # a step budget under 1.5 times the move needed is "barely more than" it
SEED = 0


def key(sigma):
    """The prefix of the values recorded for a fixed sigma, or for the learned one (None)."""
    return "learned" if sigma is None else f"sigma_{sigma:g}".replace(".", "_")


def record_steps(ctx, train, digits, start, learned, optimum):
    """How far Adam's steps could take log sigma in the run, and how far they did.

    Adam's step on a parameter is rarely longer than its step size (Kingma & Ba,
    section 2.1), so the run's steps times the step size is about the most that
    log sigma can move."""
    steps = math.ceil(digits / train.batch_size) * train.epochs
    reach = steps * train.learning_rate
    needed, moved = math.log(optimum / start), math.log(learned / start)
    ctx.number("sigma_steps", steps)
    ctx.number("sigma_step_size", train.learning_rate)
    ctx.number("sigma_reach", reach)
    ctx.number("sigma_needed", abs(needed))
    ctx.number("sigma_moved", abs(moved))
    ctx.number("sigma_reach_percent", 100 * abs(moved) / reach)
    ctx.words("sigma_reach_words", reach_words(reach, abs(needed)))
    ctx.words("sigma_direction", "towards it" if moved * needed > 0 else "away from it")


def reach_words(reach: float, needed: float) -> str:
    """How the most log sigma could move compares with what its optimum needs, as
    the words before "the": less than, barely more than (within BARELY), more than."""
    if reach < needed:
        return "less than"
    return "barely more than" if reach < BARELY * needed else "more than"


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    x = test_inputs(dataset, "continuous")  # gray levels in [0, 1]
    pixels = x[0].numel()
    ctx.number("pixels", pixels)
    ctx.number("codes", CODES)
    ctx.number("latent_dim", ctx.model(sigma_name(None)).config.model.latent_dim)
    fig, axes = plotting.figure(1, 3, figsize=(plotting.CONTENT_WIDTH, 3.4))
    elbos = {}
    for ax, sigma in zip(axes, (*SIGMAS, None), strict=True):
        run = ctx.model(sigma_name(sigma))
        model, k = run.model, key(sigma)
        generator = torch.Generator().manual_seed(SEED)
        with torch.no_grad():
            posterior = model.encode(x)
            z, _ = model.sample_codes(posterior, generator, CODES)  # (S, B, D)
            means = torch.stack([model.decode_mean(zs) for zs in z])  # (S, B, 28, 28)
            log_px_given_z = torch.stack(
                [model.log_likelihood(x, model.likelihood_params(zs)) for zs in z]
            ).mean(0)
            kl = model.kl(posterior)
        sse = (means - x).square().flatten(2).sum(2).mean(0).double()  # per digit
        elbos[k] = (log_px_given_z - kl).double()
        model_sigma = math.exp(0.5 * float(torch.as_tensor(model.observation_logvar())))
        for name, values in (("distortion", sse), ("rate", kl.double()), ("elbo", elbos[k])):
            mean, se = mean_and_se(values)
            ctx.number(f"{k}_{name}", mean)
            ctx.number(f"{k}_{name}_se", se)
        ctx.number(f"{k}_beta", 2 * model_sigma**2)  # the beta of the squared error
        if sigma is None:
            ctx.number("learned_sigma", model_sigma)
            ctx.number("start_sigma", model.config.observation_sigma)
            # The closed-form optimum, on the test digits and on the training digits
            # the sigma was learned from (each binarized as the model saw it: not at all).
            ctx.number("rmse", float(optimal_sigma(x, means)))
            train = to_unit_interval(dataset.train_images)
            with torch.no_grad():
                z_train, _ = model.sample_codes(model.encode(train), generator, CODES)
                train_means = torch.stack([model.decode_mean(zs) for zs in z_train])
            train_rmse = float(optimal_sigma(train, train_means))
            ctx.number("train_rmse", train_rmse)
            ratio = model_sigma / train_rmse
            where = "close to" if abs(ratio - 1) < CLOSE else "below" if ratio < 1 else "above"
            ctx.words("learned_vs_optimum", where)
            start = model.config.observation_sigma
            digits = len(dataset.train_images)
            record_steps(ctx, run.config.train, digits, start, model_sigma, train_rmse)
        else:
            ctx.number(f"{k}_sigma", sigma)
        with torch.no_grad():
            shown = x[:: len(x) // SHOWN][:SHOWN]
            reconstructions = model.decode_mean(model.encode(shown).mu)
            samples = model.sample_prior(SAMPLES, torch.Generator().manual_seed(SEED))
        images = torch.cat([shown, reconstructions, samples]).numpy()
        title = f"σ = {sigma:g}" if sigma is not None else f"σ learned: {model_sigma:.2f}"
        plotting.digits(ax, np.clip(images, 0, 1), COLUMNS, title)
    for fixed in SIGMAS:
        difference, se = mean_and_se(elbos["learned"] - elbos[key(fixed)])
        ctx.words(f"learned_vs_{key(fixed)}", compare_words(difference, se, TIES))
        ctx.number(f"learned_minus_{key(fixed)}", difference)
        ctx.number(f"learned_minus_{key(fixed)}_se", se)
    ctx.number("test_digits", len(x))
    ctx.save("sigma-vae.svg", plotting.svg_bytes(fig))
