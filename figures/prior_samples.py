"""Images decoded from codes drawn from the prior N(0, I), for the autoencoder
and the VAE: the autoencoder never learned what most such codes mean.

What is shown for a code z is the decoder's mean image E[x|z], each pixel the
probability of ink. A sample from the model is a binary image drawn from
p(x|z), every pixel an independent coin with that probability; the last figure
puts a few such draws under their means.
"""

import torch

from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "vae-2d")
COUNT, COLUMNS, SEED = 32, 8, 0
DRAWS = 8  # codes whose binary draws are shown beside their means


def make(ctx):
    samples = {}
    for name in MODELS:
        run = ctx.model(name)
        samples[name] = run.model.sample_prior(COUNT, torch.Generator().manual_seed(SEED))
        ctx.save(f"{name}.png", plotting.grid_png(samples[name].numpy(), COLUMNS))

    means = samples["vae-2d"][:DRAWS]
    draws = torch.bernoulli(means, generator=torch.Generator().manual_seed(SEED))
    fig, axes = plotting.figure(2, 1, figsize=(plotting.CONTENT_WIDTH, 2.9))
    for ax, (title, images) in zip(
        axes,
        (
            (r"mean images $\mathbb{E}[x \mid z]$", means),
            (r"one draw $x \sim p(x \mid z)$ each", draws),
        ),
        strict=True,
    ):
        plotting.digits(ax, images.numpy(), DRAWS, title)
    plotting.check_text_size(fig)
    ctx.save("means-and-draws.svg", plotting.svg_bytes(fig))
    ctx.number("count", COUNT)
    ctx.number("draws", DRAWS)
