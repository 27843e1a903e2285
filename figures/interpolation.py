"""A straight line through latent space between the codes of two test digits,
decoded at evenly spaced points, for the autoencoder and the VAE.

Each row starts and ends with the two test digits themselves. Of each class,
the digit shown is the one the VAE reconstructs best (highest log p(x|z) at
the mean code), so that the row shows the path, not a failed reconstruction.
"""

import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "vae-2d")
STEPS = 10
START_CLASS, END_CLASS = 1, 7


def best_reconstructed(run, x, labels, digit_class):
    """Index of the test digit of `digit_class` with the highest log p(x|mu(x))."""
    members = (labels == digit_class).nonzero().flatten()
    with torch.no_grad():
        xs = x[members]
        score = run.model.log_likelihood(xs, run.model.likelihood_params(run.model.encode(xs).mu))
    return int(members[score.argmax()])


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    vae = ctx.model("vae-2d")
    x = test_inputs(dataset, vae.config.data.binarize)
    first = best_reconstructed(vae, x, dataset.test_labels, START_CLASS)
    last = best_reconstructed(vae, x, dataset.test_labels, END_CLASS)
    rows = []
    for name in ("ae-2d", "vae-2d"):
        run = ctx.model(name)
        ends = x[[first, last]]
        with torch.no_grad():
            mu = run.model.encode(ends).mu
            t = torch.linspace(0, 1, STEPS).unsqueeze(1)  # (STEPS, 1)
            z = (1 - t) * mu[0] + t * mu[1]  # (STEPS, D)
            rows.append(torch.cat([ends[:1], run.model.decode_mean(z), ends[1:]]))
    images = torch.cat(rows).numpy()
    ctx.save("ae-vs-vae.png", plotting.grid_png(images, STEPS + 2, scale=3))
    ctx.number("steps", STEPS)
    ctx.number("start_class", START_CLASS)
    ctx.number("end_class", END_CLASS)
