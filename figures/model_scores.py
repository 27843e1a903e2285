"""The 20-D VAE: reconstructions of test digits and samples from the prior;
and the sizes of the data and the models. (Their scores come from
iwae_bound.py.)"""

import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "results.md"
MODELS = ("vae-20d",)
SHOWN = 12  # test digits above their reconstructions: one per class, then more
SAMPLES, COLUMNS, SEED = 48, 12, 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    ctx.number("train_examples", len(dataset.train_images))
    ctx.number("test_examples", len(dataset.test_images))
    run = ctx.model("vae-20d")
    ctx.number("vae_20d_epochs", run.config.train.epochs)
    ctx.number("vae_20d_latent", run.config.model.latent_dim)
    ctx.number("hidden_units", run.config.model.hidden_sizes[0])
    ctx.number("hidden_layers", len(run.config.model.hidden_sizes))
    x = test_inputs(dataset, run.config.data.binarize)
    labels = dataset.test_labels
    picks = [int((labels == c).nonzero()[0]) for c in range(10)]
    picks += [i for i in range(len(x)) if i not in picks][: SHOWN - len(picks)]
    shown = x[picks]
    rows = torch.cat([shown, run.model.reconstruct(shown)]).numpy()
    ctx.save("vae-20d-reconstructions.png", plotting.grid_png(rows, SHOWN))
    prior = torch.Generator().manual_seed(SEED)
    samples = run.model.sample_prior(SAMPLES, prior).numpy()
    ctx.save("vae-20d-samples.png", plotting.grid_png(samples, COLUMNS))
    ctx.number("shown", SHOWN)
    ctx.number("samples", SAMPLES)
