"""The VQ-VAE: reconstructions of test digits from their discrete codes, how
much of the codebook the codes use, and samples decoded from three priors over
the codes, each fitted to the training digits' codes after training
(`vae.code_priors`): the uniform prior the model trains with, independent
positions, and a Markov chain over the positions.

Since q(k|x) is one code with probability one, the ELBO under a prior p is
log p(x | z_q) + log p(k(x)), so each prior's score on the test digits' codes
is the ELBO it gives. The codebook's use is its perplexity, the exponential of
the entropy of the codes' frequencies (K if all K are used equally), and its
dead codes, those no test digit picks (`vae.vq`).
"""

import math

import numpy as np
import torch

from vae.code_priors import IndependentPrior, UniformPrior, fit_markov
from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.site import plotting
from vae.stats import mean_and_se
from vae.vq import dead_codes, perplexity
from vae.words import compare_words, count_words

PAGE = "extensions.md"
MODELS = ("vq-vae",)
SHOWN, SAMPLES = 8, 8  # test digits shown with their reconstructions; samples per prior
SEED = 0
TIES = 2
STRENGTHS = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)  # pseudo-counts per row of a transition table
HELD_OUT = 0.1  # share of the training codes that chooses among them
PRIORS = ("uniform", "independent", "markov")
TITLES = {
    "uniform": "samples, uniform prior",
    "independent": "samples, independent positions",
    "markov": "samples, Markov chain",
}


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vq-vae")
    model = run.model
    size, groups = model.config.codebook_size, model.config.code_groups
    x = test_inputs(dataset, run.config.data.binarize)
    train = binarize(to_unit_interval(dataset.train_images), fixed_generator())
    with torch.no_grad():
        test_q, train_q = model.quantize(x), model.quantize(train)
        log_px_given_z = model.log_likelihood(x, model.likelihood_params(test_q.z)).double()
    ctx.number("codebook_size", size)
    ctx.number("code_groups", groups)
    ctx.number("code_dim", model.config.latent_dim // groups)
    ctx.number("perplexity", perplexity(test_q.indices, size))
    dead = dead_codes(test_q.indices, size)
    unpicked = {
        0: "every vector is picked by at least one test digit",
        1: "one vector is picked by no test digit",
    }.get(dead, f"{count_words(dead)} vectors are picked by no test digit")
    ctx.words("dead_codes", unpicked)
    ctx.number("test_digits", len(x))
    ctx.number("epochs", run.config.train.epochs)
    ctx.number("latent_dim", model.config.latent_dim)
    ctx.number("commitment", run.config.train.commitment)
    mean, se = mean_and_se(log_px_given_z)
    ctx.number("log_px_given_z", mean)
    ctx.number("log_px_given_z_se", se)
    priors = {
        "uniform": UniformPrior(groups, size),
        "independent": IndependentPrior(train_q.indices, size),
    }
    priors["markov"], strength = fit_markov(
        train_q.indices, size, STRENGTHS, HELD_OUT, torch.Generator().manual_seed(SEED)
    )
    ctx.number("strength", strength)
    ctx.number("held_out_percent", round(100 * HELD_OUT))
    elbos = {name: log_px_given_z + p.log_prob(test_q.indices) for name, p in priors.items()}
    mean, se = mean_and_se(elbos["uniform"])
    ctx.number("uniform_elbo", mean)
    ctx.number("uniform_elbo_se", se)
    ctx.number("kl_uniform", groups * math.log(size))
    gain, gain_se = mean_and_se(elbos["independent"] - elbos["uniform"])
    ctx.number("independent_gain", gain)
    ctx.number("independent_gain_se", gain_se)
    gain, gain_se = mean_and_se(elbos["markov"] - elbos["independent"])
    ctx.number("markov_gain", gain)
    ctx.number("markov_gain_se", gain_se)
    ctx.words("markov_words", compare_words(gain, gain_se, TIES))

    fig, axes = plotting.figure(5, 1, figsize=(plotting.CONTENT_WIDTH * 0.62, 4.6))
    shown = x[:: len(x) // SHOWN][:SHOWN]
    with torch.no_grad():
        reconstructions = model.reconstruct(shown)
    plotting.digits(axes[0], shown.numpy(), SHOWN, "test digits")
    plotting.digits(axes[1], reconstructions.numpy(), SHOWN, "from their codes")
    generator = torch.Generator().manual_seed(SEED)
    codebook = model.codebook.detach().float()
    for ax, name in zip(axes[2:], PRIORS, strict=True):
        codes = priors[name].sample(SAMPLES, generator)  # (n, M) indices
        with torch.no_grad():
            images = model.decode_mean(codebook[codes].view(SAMPLES, -1))
        plotting.digits(ax, np.asarray(images), SHOWN, TITLES[name])
    ctx.save("vq-vae.svg", plotting.svg_bytes(fig))
