"""Plotting helpers shared by the figure scripts: one style, byte-stable files.

Saved files are deterministic: SVG element ids come from a fixed salt, and no
creation date or software version is written into SVG or PNG metadata.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

STYLE = {
    "figure.dpi": 100,
    "font.size": 10,
    "font.family": "DejaVu Sans",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "legend.frameon": False,
    "svg.fonttype": "path",  # glyphs as paths: math symbols render without the fonts
    "svg.hashsalt": "vae-explained",  # fixed ids, so a rebuild is byte-identical
}
CLASS_COLORS = plt.get_cmap("tab10").colors


def figure(*args, **kwargs) -> tuple[plt.Figure, np.ndarray | plt.Axes]:
    """plt.subplots in the house style, with a constrained layout."""
    with plt.rc_context(STYLE):
        return plt.subplots(*args, layout="constrained", **kwargs)


def svg_bytes(fig: plt.Figure) -> bytes:
    """The figure as SVG, with no date in it; the figure is closed."""
    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="svg", dpi=100, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buffer.getvalue()


def png_bytes(fig: plt.Figure, dpi: int = 100) -> bytes:
    """The figure as PNG, with no software version in it; the figure is closed."""
    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def image_grid(
    images: np.ndarray, columns: int, pad: int = 2, background: float = 1.0
) -> np.ndarray:
    """Tiles images of shape (N, H, W), values in [0, 1], into one (rows*H, columns*W) array."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), background, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = image
    return grid


def grid_png(images: np.ndarray, columns: int, scale: int = 2, invert: bool = True) -> bytes:
    """A grid of gray images as a compressed PNG; ink is dark on white when `invert`."""
    grid = image_grid(images, columns, background=0.0)
    if invert:
        grid = 1.0 - grid
    # Sixteen gray levels: indistinguishable at this size, and a 4-bit PNG is a
    # fraction of an 8-bit one.
    levels = np.clip(np.rint(grid * 15), 0, 15).astype(np.uint8)
    image = Image.fromarray(levels * 17, mode="L").quantize(16, dither=Image.Dither.NONE)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def latent_scatter(ax: plt.Axes, z: np.ndarray, labels: np.ndarray, title: str) -> None:
    """Codes z of shape (N, 2) as points coloured by class."""
    colors = np.asarray(CLASS_COLORS)[labels]
    # Rasterized points keep the SVG small; axes and labels stay vector.
    ax.scatter(z[:, 0], z[:, 1], c=colors, s=6, linewidths=0, rasterized=True)
    ax.set_title(title)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_aspect("equal", adjustable="datalim")


def class_legend(fig: plt.Figure, class_names: tuple[str, ...]) -> None:
    """One legend entry per class, below the axes."""
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=CLASS_COLORS[i], label=name)
        for i, name in enumerate(class_names)
    ]
    columns = len(class_names) if fig.get_figwidth() >= 8 else (len(class_names) + 1) // 2
    fig.legend(handles=handles, loc="outside lower center", ncols=columns)


# -- diagram pieces ---------------------------------------------------------------

DIAGRAM_STYLE = {"boxstyle": "round,pad=0.35", "linewidth": 1.2}
NETWORK_COLOR = "#c5cae9"  # encoder and decoder
CODE_COLOR = "#ffe0b2"  # the latent code
NOISE_COLOR = "#e0e0e0"  # randomness
LOSS_COLOR = "#b71c1c"


def diagram_axes(width: float, height: float) -> tuple[plt.Figure, plt.Axes]:
    """An empty canvas with data coordinates 0..width by 0..height, one unit per inch."""
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def node(ax: plt.Axes, x: float, y: float, text: str, color: str, size: int = 11) -> None:
    """A labelled rounded box centred at (x, y)."""
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=size,
        bbox={**DIAGRAM_STYLE, "facecolor": color, "edgecolor": "#37474f"},
    )


def arrow(
    ax: plt.Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    color: str = "#37474f",
    dashed: bool = False,
) -> None:
    """An arrow from start to end, with an optional label above its middle."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "linewidth": 1.3,
            "linestyle": "--" if dashed else "-",
            "shrinkA": 4,
            "shrinkB": 4,
        },
    )
    if label:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.18)
        ax.text(*middle, label, ha="center", va="bottom", fontsize=9, color=color)


def picture(ax: plt.Axes, image: np.ndarray, x: float, y: float, size: float, title: str) -> None:
    """A gray image of side `size` centred at (x, y), ink dark on white, titled below."""
    half = size / 2
    ax.imshow(
        1.0 - image,
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        extent=(x - half, x + half, y - half, y + half),
        zorder=2,
    )
    ax.add_patch(
        plt.Rectangle(
            (x - half, y - half),
            size,
            size,
            fill=False,
            edgecolor="#37474f",
            linewidth=1.0,
            zorder=3,
        )
    )
    ax.text(x, y - half - 0.12, title, ha="center", va="top", fontsize=10)
