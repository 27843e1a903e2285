"""The 2-D VAE's decoder evaluated on a grid of codes. The grid is spaced by the
inverse Gaussian CDF, so each cell covers the same prior probability mass."""

import torch

from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("vae-2d",)
SIDE = 16
EDGE = 0.03  # the grid spans the prior's quantiles EDGE .. 1 - EDGE


def make(ctx):
    run = ctx.model("vae-2d")
    quantiles = torch.linspace(EDGE, 1 - EDGE, SIDE)
    values = torch.distributions.Normal(0.0, 1.0).icdf(quantiles)  # (SIDE,)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")  # top row: largest z2
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    with torch.no_grad():
        images = run.model.decode_mean(z)
    ctx.save("vae-2d.png", plotting.grid_png(images.numpy(), SIDE, scale=1))
    ctx.number("side", SIDE)
    ctx.number("z_max", float(values[-1]))
    ctx.number("edge", EDGE)
