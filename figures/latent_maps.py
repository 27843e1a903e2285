"""The 2-D latent maps of the autoencoder, the noisy autoencoder and the VAE,
side by side: the test digits placed at the mean of q(z|x), coloured by class."""

import torch

from vae import plotting
from vae.data import test_inputs
from vae.train import evaluate

PAGE = "index.md"
MODELS = (("ae-2d", "Autoencoder"), ("noisy-ae-2d", "Noisy autoencoder"), ("vae-2d", "VAE"))


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    fig, axes = plotting.figure(1, 3, figsize=(10, 3.9))
    for ax, (name, title) in zip(axes, MODELS, strict=True):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        with torch.no_grad():
            z = run.model.encode(x).mu.numpy()
        plotting.latent_scatter(ax, z, dataset.test_labels.numpy(), title)
        result = evaluate(run.model, x)
        ctx.number(f"{name.replace('-', '_')}_test_log_px_given_z", result["log_px_given_z"])
        ctx.number(f"{name.replace('-', '_')}_test_kl", result["kl"])
        ctx.number(f"{name.replace('-', '_')}_epochs", run.config.train.epochs)
    plotting.class_legend(fig, dataset.class_names)
    ctx.save("latent-maps.svg", plotting.svg_bytes(fig))
    ctx.number("test_examples", len(dataset.test_images))
