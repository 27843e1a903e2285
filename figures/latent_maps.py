"""The 2-D latent maps of the autoencoder, the noisy autoencoder and the VAE:
the test digits placed at the mean of q(z|x), coloured by class. One map per
model, and the three side by side on shared axes."""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d", "vae-2d")
TITLES = (("ae-2d", "Autoencoder"), ("noisy-ae-2d", "Noisy autoencoder"), ("vae-2d", "VAE"))


def codes(ctx, name, dataset):
    run = ctx.model(name)
    x = test_inputs(dataset, run.config.data.binarize)
    with torch.no_grad():
        return run.model.encode(x).mu.numpy()


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels.numpy()
    all_codes = {name: codes(ctx, name, dataset) for name, _ in TITLES}

    for name, title in TITLES:
        fig, ax = plotting.figure(figsize=(4.6, 4.6))
        plotting.latent_scatter(ax, all_codes[name], labels, title)
        plotting.class_legend(fig, dataset.class_names)
        ctx.save(f"{name}.svg", plotting.svg_bytes(fig))
        z = all_codes[name]
        key = name.replace("-", "_")
        # How far the codes spread: the standard deviation of each coordinate.
        ctx.number(f"{key}_spread", float(np.mean(z.std(axis=0))))
        ctx.number(f"{key}_radius_99", float(np.quantile(np.linalg.norm(z, axis=1), 0.99)))

    fig, axes = plotting.figure(1, 3, figsize=(10, 3.9))
    for ax, (name, title) in zip(axes, TITLES, strict=True):
        plotting.latent_scatter(ax, all_codes[name], labels, title)
    plotting.class_legend(fig, dataset.class_names)
    ctx.save("side-by-side.svg", plotting.svg_bytes(fig))
    ctx.number("test_examples", len(labels))
    ctx.number("epochs", ctx.model("vae-2d").config.train.epochs)
    ctx.number("noise_sigma", ctx.model("noisy-ae-2d").config.model.noise_sigma)
