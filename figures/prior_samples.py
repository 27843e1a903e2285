"""Images decoded from codes drawn from N(0, I): the autoencoder's are mostly
not digits, the VAE's mostly are."""

import torch

from vae import plotting

PAGE = "index.md"
COUNT, COLUMNS, SEED = 32, 8, 0


def make(ctx):
    for name in ("ae-2d", "vae-2d"):
        run = ctx.model(name)
        images = run.model.sample_prior(COUNT, torch.Generator().manual_seed(SEED))
        ctx.save(f"{name}.png", plotting.grid_png(images.numpy(), COLUMNS))
