"""The 20-D VAE: reconstructions of test digits, samples from the prior, and the
test ELBO of the 2-D and 20-D VAEs, in nats. (Their importance-weighted
estimates of log p(x) come from figures/iwae_bound.py.)"""

import torch

from vae.data import test_inputs
from vae.site import plotting
from vae.train import evaluate

PAGE = "results.md"
MODELS = ("vae-2d", "vae-20d")
SHOWN, COLUMNS, SEED = 12, 12, 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    ctx.number("train_examples", len(dataset.train_images))
    ctx.number("test_examples", len(dataset.test_images))
    for name in ("vae-2d", "vae-20d"):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        key = name.replace("-", "_")
        ctx.number(f"{key}_epochs", run.config.train.epochs)
        ctx.number(f"{key}_test_elbo", evaluate(run.model, x)["elbo"])

    run = ctx.model("vae-20d")
    x = test_inputs(dataset, run.config.data.binarize)
    # One test digit of each class, then two more, above their reconstructions.
    picks = [int((dataset.test_labels == c).nonzero()[0]) for c in range(10)] + [10, 11]
    shown = x[picks[:SHOWN]]
    rows = torch.cat([shown, run.model.reconstruct(shown)])
    ctx.save("vae-20d-reconstructions.png", plotting.grid_png(rows.numpy(), COLUMNS))
    samples = run.model.sample_prior(48, torch.Generator().manual_seed(SEED))
    ctx.save("vae-20d-samples.png", plotting.grid_png(samples.numpy(), COLUMNS))
