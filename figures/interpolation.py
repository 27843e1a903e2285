"""A straight line through latent space between the codes of two test digits,
decoded at evenly spaced points, for the autoencoder and the VAE."""

import torch

from vae import plotting
from vae.data import test_inputs

PAGE = "autoencoders.md"
STEPS = 10
START_CLASS, END_CLASS = 1, 7  # the first test digit of each class is used


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels
    first = int((labels == START_CLASS).nonzero()[0])
    last = int((labels == END_CLASS).nonzero()[0])
    rows = []
    for name in ("ae-2d", "vae-2d"):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)[[first, last]]
        with torch.no_grad():
            mu = run.model.encode(x).mu
            t = torch.linspace(0, 1, STEPS).unsqueeze(1)  # (STEPS, 1)
            z = (1 - t) * mu[0] + t * mu[1]  # (STEPS, D)
            rows.append(run.model.decode_mean(z))
    ctx.save("ae-vs-vae.png", plotting.grid_png(torch.cat(rows).numpy(), STEPS, scale=3))
    ctx.number("steps", STEPS)
    ctx.number("start_class", START_CLASS)
    ctx.number("end_class", END_CLASS)
