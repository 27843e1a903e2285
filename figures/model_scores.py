"""The 20-D VAE: reconstructions of test digits, samples from the prior, and its
test ELBO and importance-weighted estimate of log p(x), in nats."""

import torch

from vae import plotting
from vae.data import test_inputs
from vae.train import evaluate, iwae_estimate

PAGE = "results.md"
IWAE_K = {"quick": 50, "full": 1000}
SHOWN, COLUMNS, SEED = 12, 12, 0


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    k = IWAE_K[ctx.profile]
    ctx.number("iwae_k", k)
    ctx.number("train_examples", len(dataset.train_images))
    ctx.number("test_examples", len(dataset.test_images))
    for name in ("vae-2d", "vae-20d"):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        key = name.replace("-", "_")
        ctx.number(f"{key}_epochs", run.config.train.epochs)
        ctx.number(f"{key}_test_elbo", evaluate(run.model, x)["elbo"])
        ctx.number(f"{key}_test_iwae", iwae_estimate(run.model, x, k))

    run = ctx.model("vae-20d")
    x = test_inputs(dataset, run.config.data.binarize)
    # One test digit of each class, then two more, above their reconstructions.
    picks = [int((dataset.test_labels == c).nonzero()[0]) for c in range(10)] + [10, 11]
    shown = x[picks[:SHOWN]]
    rows = torch.cat([shown, run.model.reconstruct(shown)])
    ctx.save("vae-20d-reconstructions.png", plotting.grid_png(rows.numpy(), COLUMNS))
    samples = run.model.sample_prior(48, torch.Generator().manual_seed(SEED))
    ctx.save("vae-20d-samples.png", plotting.grid_png(samples.numpy(), COLUMNS))
