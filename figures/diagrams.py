"""The three models as diagrams, each with a real test digit and the
reconstruction its trained model makes of it: the autoencoder, the autoencoder
with fixed noise and a KL penalty (not a VAE), and the VAE."""

import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d", "vae-2d")
DIGIT = 7  # index, in the test split, of the digit shown


def reconstruction(ctx, name, x):
    run = ctx.model(name)
    with torch.no_grad():
        return run.model.reconstruct(x)[0].numpy()


def base(x_image, x_hat, width=9.6, height=2.6):
    """Input, encoder, decoder and reconstruction; returns the canvas."""
    fig, ax = plotting.diagram_axes(width, height)
    y = 1.35
    plotting.picture(ax, x_image, 0.75, y, 1.0, "input $x$")
    plotting.picture(ax, x_hat, width - 0.75, y, 1.0, r"reconstruction $\hat{x}$")
    plotting.node(ax, 2.35, y, "encoder", plotting.NETWORK_COLOR)
    plotting.node(ax, width - 2.35, y, "decoder", plotting.NETWORK_COLOR)
    plotting.arrow(ax, (1.3, y), (1.75, y))
    plotting.arrow(ax, (width - 1.75, y), (width - 1.3, y))
    return fig, ax, y


def loss_caption(ax, x, y, text):
    """The loss, in red, under a diagram."""
    ax.text(x, y, text, ha="center", fontsize=10, color=plotting.LOSS_COLOR)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    x = test_inputs(dataset, "dynamic")[DIGIT : DIGIT + 1]
    image = x[0].numpy()

    # 1. The autoencoder: x -> z -> x_hat.
    fig, ax, y = base(image, reconstruction(ctx, "ae-2d", x))
    plotting.node(ax, 4.8, y, "$z$", plotting.CODE_COLOR, 13)
    plotting.arrow(ax, (2.95, y), (4.55, y), "code")
    plotting.arrow(ax, (5.05, y), (6.65, y))
    loss_caption(
        ax,
        4.8,
        0.3,
        r"loss $= -\log p(x \mid z)$  (reconstruction)",
    )
    ctx.save("autoencoder.svg", plotting.svg_bytes(fig))

    # 2. Fixed noise and a KL penalty: not a VAE.
    fig, ax, y = base(image, reconstruction(ctx, "noisy-ae-2d", x), width=10.6, height=3.0)
    plotting.node(ax, 3.9, y, r"$\mu$", plotting.CODE_COLOR, 13)
    plotting.node(ax, 4.8, 2.55, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR, 10)
    plotting.node(ax, 5.7, y, r"$z = \mu + \sigma_0\,\epsilon$", plotting.CODE_COLOR, 11)
    plotting.arrow(ax, (2.95, y), (3.65, y))
    plotting.arrow(ax, (4.15, y), (5.0, y))
    plotting.arrow(ax, (4.8, 2.35), (5.3, 1.6), dashed=True)
    plotting.arrow(ax, (6.55, y), (7.65, y))
    loss_caption(
        ax,
        5.3,
        0.3,
        r"loss $= -\log p(x \mid z) + \mathrm{KL}(\mathcal{N}(\mu, \sigma_0^2 I)"
        r" \,\|\, \mathcal{N}(0, I))$,   $\sigma_0$ fixed",
    )
    ctx.save("noisy-autoencoder.svg", plotting.svg_bytes(fig))

    # 3. The VAE: the encoder outputs sigma as well.
    fig, ax, y = base(image, reconstruction(ctx, "vae-2d", x), width=10.6, height=3.0)
    plotting.node(ax, 3.9, 1.75, r"$\mu(x)$", plotting.CODE_COLOR, 12)
    plotting.node(ax, 3.9, 0.95, r"$\sigma(x)$", plotting.CODE_COLOR, 12)
    plotting.node(ax, 4.8, 2.6, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR, 10)
    plotting.node(ax, 5.75, y, r"$z = \mu + \sigma \odot \epsilon$", plotting.CODE_COLOR, 11)
    plotting.arrow(ax, (2.95, 1.45), (3.5, 1.7))
    plotting.arrow(ax, (2.95, 1.25), (3.5, 1.0))
    plotting.arrow(ax, (4.35, 1.75), (5.0, 1.45))
    plotting.arrow(ax, (4.35, 0.95), (5.0, 1.25))
    plotting.arrow(ax, (4.8, 2.4), (5.4, 1.6), dashed=True)
    plotting.arrow(ax, (6.7, y), (7.65, y))
    loss_caption(
        ax,
        5.3,
        0.2,
        r"loss $= -\log p(x \mid z) + \mathrm{KL}(\mathcal{N}(\mu, \sigma^2)"
        r" \,\|\, \mathcal{N}(0, I))$ $=$ $-$ELBO",
    )
    ctx.save("vae.svg", plotting.svg_bytes(fig))
