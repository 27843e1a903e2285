"""The VAE as a graphical model, drawn as a plate diagram: for each of the N
images, a code z drawn from the prior and an image x drawn from the decoder
given z (solid arrows, the generative model with weights theta), and the
encoder's approximate posterior q(z | x) (dashed arrows, weights phi). theta
and phi sit outside the plate because every image shares them."""

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from vae.site import diagram, plotting

PAGE = "variational-inference.md"
RADIUS = 0.42  # of the random variables' circles
OBSERVED = "#cfd8dc"  # shading of the observed variable
ENCODER_COLOR = "#d84315"  # the same colour as q(z|x) in the posterior figures


def variable(ax, x, y, text, shaded=False):
    """A random variable: a circle, shaded when observed."""
    face = OBSERVED if shaded else "white"
    ax.add_patch(Circle((x, y), RADIUS, facecolor=face, edgecolor=plotting.INK, linewidth=1.5))
    ax.text(x, y, text, ha="center", va="center", fontsize=16)


def parameter(ax, x, y, text):
    """A parameter: a small filled dot, named beside it."""
    ax.add_patch(Circle((x, y), 0.07, color=plotting.INK))
    ax.text(x, y + 0.2, text, ha="center", va="bottom", fontsize=15)


def edge(ax, start, end, color=plotting.INK, dashed=False, bend=0.0):
    """An arrow between two points, stopping short of circles."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=16,
            color=color,
            linewidth=1.5,
            linestyle="--" if dashed else "-",
            connectionstyle=f"arc3,rad={bend}",
            shrinkA=4,
            shrinkB=4,
        )
    )


def make(ctx):
    fig, ax = diagram.diagram_axes(6.5, 3.7)
    z, x = (3.6, 2.45), (3.6, 0.95)
    # The plate: what is inside repeats for n = 1, ..., N.
    ax.add_patch(
        FancyBboxPatch(
            (1.75, 0.2), 3.35, 3.3, boxstyle="round,pad=0.02,rounding_size=0.12",
            fill=False, edgecolor=plotting.INK, linewidth=1.3,
        )
    )  # fmt: skip
    ax.text(5.0, 0.3, "$n = 1, \\dots, N$", ha="right", va="bottom")
    variable(ax, *z, "$z_n$")
    variable(ax, *x, "$x_n$", shaded=True)
    # The generative model: z ~ N(0, I), x ~ p_theta(x | z).
    ax.text(z[0], z[1] + RADIUS + 0.08, r"$p(z) = \mathcal{N}(0, I)$", ha="center", va="bottom")
    edge(ax, (z[0], z[1] - RADIUS), (x[0], x[1] + RADIUS))
    ax.text(z[0] + 0.12, 1.7, r"$p_\theta(x \mid z)$", ha="left", va="center")
    parameter(ax, 6.1, x[1], r"$\theta$")
    edge(ax, (6.05, x[1]), (x[0] + RADIUS, x[1]))
    # The encoder's approximate posterior, shared by all images.
    edge(
        ax, (x[0] - RADIUS * 0.8, x[1] + RADIUS * 0.6), (z[0] - RADIUS * 0.8, z[1] - RADIUS * 0.6),
        color=ENCODER_COLOR, dashed=True, bend=-0.45,
    )  # fmt: skip
    ax.text(2.95, 1.7, r"$q_\phi(z \mid x)$", color=ENCODER_COLOR, ha="right", va="center")
    parameter(ax, 0.9, z[1], r"$\phi$")
    edge(ax, (0.95, z[1]), (z[0] - RADIUS, z[1]), color=ENCODER_COLOR, dashed=True)
    ax.text(0.1, 0.3, "shaded:\nobserved", ha="left", va="bottom", color="#546e7a")
    plotting.check_text_size(fig)
    ctx.save("plate.svg", plotting.svg_bytes(fig))
