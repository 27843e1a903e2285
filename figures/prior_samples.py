"""Images decoded from codes drawn from the prior N(0, I), for the three 2-D
models: the autoencoder never learned what most such codes mean."""

import torch

from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d", "vae-2d")
COUNT, COLUMNS, SEED = 32, 8, 0


def make(ctx):
    for name in ("ae-2d", "noisy-ae-2d", "vae-2d"):
        run = ctx.model(name)
        images = run.model.sample_prior(COUNT, torch.Generator().manual_seed(SEED))
        ctx.save(f"{name}.png", plotting.grid_png(images.numpy(), COLUMNS))
