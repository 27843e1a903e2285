"""The three models as diagrams, each with a real test digit and the
reconstruction its trained model makes of it: the autoencoder, the autoencoder
with fixed noise and a KL penalty (not a VAE), and the VAE. Under each diagram,
every term of its loss sits under the part of the model it belongs to."""

import torch

from vae.data import test_inputs
from vae.site import diagram, plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d-sigma-0.2", "vae-2d")
DIGIT = 7  # index, in the test split, of the digit shown
WIDTH = plotting.COLUMN_WIDTH  # the desktop column; the text grows to read on a phone
RED, BLUE = plotting.LOSS_COLOR, plotting.KL_COLOR


def reconstruction(ctx, name, x):
    run = ctx.model(name)
    with torch.no_grad():
        return run.model.reconstruct(x)[0].numpy()


def base(x_image, x_hat, height, y):
    """Input, encoder, decoder and reconstruction on a canvas of the column's width."""
    fig, ax = diagram.diagram_axes(WIDTH, height)
    parts = {
        "x": diagram.picture(ax, x_image, 0.55, y, 0.85, "input $x$"),
        "x_hat": diagram.picture(ax, x_hat, WIDTH - 0.55, y, 0.85, r"$\hat{x}$"),
        "encoder": diagram.node(ax, 1.75, y, "encoder", plotting.NETWORK_COLOR),
        "decoder": diagram.node(ax, WIDTH - 1.75, y, "decoder", plotting.NETWORK_COLOR),
    }
    diagram.arrow(ax, parts["x"], parts["encoder"])
    diagram.arrow(ax, parts["decoder"], parts["x_hat"])
    return fig, ax, parts


def loss_line(ax, y, plus=None, start=0.1):
    """'loss =' (and '+' at x = plus) on the line of the terms' labels at bracket height y."""
    ax.text(start, y - 0.08, "loss =", va="top")
    if plus is not None:
        ax.text(plus, y - 0.08, "+", ha="center", va="top")


def save(ctx, name, fig):
    plotting.check_text_size(fig)
    ctx.save(name, plotting.svg_bytes(fig))


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    x = test_inputs(dataset, "dynamic")[DIGIT : DIGIT + 1]
    image = x[0].numpy()
    sigma_0 = ctx.model("noisy-ae-2d-sigma-0.2").config.model.noise_sigma
    ctx.number("sigma_0", sigma_0)

    # 1. The autoencoder: x -> z -> x_hat, and one term.
    y = 1.65
    fig, ax, parts = base(image, reconstruction(ctx, "ae-2d", x), 2.45, y)
    z = diagram.node(ax, WIDTH / 2, y, "$z$", plotting.CODE_COLOR)
    diagram.arrow(ax, parts["encoder"], z)
    diagram.arrow(ax, z, parts["decoder"])
    loss_line(ax, 0.75, start=WIDTH - 3.1)
    diagram.term(ax, WIDTH - 2.3, WIDTH - 0.1, 0.75, r"$-\log p(x \mid z)$", RED)
    save(ctx, "autoencoder.svg", fig)

    # 2. Fixed noise and a KL penalty: not a VAE.
    y = 1.75
    fig, ax, parts = base(image, reconstruction(ctx, "noisy-ae-2d-sigma-0.2", x), 3.25, y)
    mu = diagram.node(ax, 2.85, y, r"$\mu$", plotting.CODE_COLOR)
    z = diagram.node(ax, 4.1, y, r"$z = \mu + \sigma_0\,\epsilon$", plotting.CODE_COLOR)
    eps = diagram.node(ax, 4.1, 2.85, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR)
    diagram.arrow(ax, parts["encoder"], mu)
    diagram.arrow(ax, mu, z)
    diagram.arrow(ax, eps, z, dashed=True)
    diagram.arrow(ax, z, parts["decoder"])
    loss_line(ax, 0.9, plus=5.03)
    diagram.term(
        ax,
        2.55,
        4.85,
        0.9,
        "KL$(q(z \\mid x) \\,\\|\\, p(z))$\n$= \\|\\mu\\|^2 / 2 + \\mathrm{const}$",
        BLUE,
    )
    diagram.term(ax, 5.2, WIDTH - 0.1, 0.9, r"$\mathbb{E}_\epsilon[-\log p(x \mid z)]$", RED)
    save(ctx, "noisy-autoencoder.svg", fig)

    # 3. The VAE: the encoder outputs sigma as well.
    y = 1.85
    fig, ax, parts = base(image, reconstruction(ctx, "vae-2d", x), 3.35, y)
    mu = diagram.node(ax, 2.95, y + 0.45, r"$\mu(x)$", plotting.CODE_COLOR)
    sigma = diagram.node(ax, 2.95, y - 0.45, r"$\sigma(x)$", plotting.CODE_COLOR)
    z = diagram.node(ax, 4.3, y, r"$z = \mu + \sigma \odot \epsilon$", plotting.CODE_COLOR)
    eps = diagram.node(ax, 4.3, 2.95, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR)
    diagram.arrow(ax, parts["encoder"], mu)
    diagram.arrow(ax, parts["encoder"], sigma)
    diagram.arrow(ax, mu, z)
    diagram.arrow(ax, sigma, z)
    diagram.arrow(ax, eps, z, dashed=True)
    diagram.arrow(ax, z, parts["decoder"])
    loss_line(ax, 0.9, plus=5.03)
    diagram.term(ax, 2.45, 3.45, 0.9, r"KL$(q(z \mid x) \,\|\, p(z))$", BLUE)
    diagram.term(ax, 5.2, WIDTH - 0.1, 0.9, r"$\mathbb{E}_q[-\log p(x \mid z)]$", RED)
    ax.text(0.52, 0.3, r"$= -\mathrm{ELBO}(x)$", va="top")
    save(ctx, "vae.svg", fig)
