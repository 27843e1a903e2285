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
    "svg.fonttype": "none",  # text stays text: smaller files, selectable labels
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
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
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
    pixels = np.clip(np.rint(grid * 255), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def latent_scatter(ax: plt.Axes, z: np.ndarray, labels: np.ndarray, title: str) -> None:
    """Codes z of shape (N, 2) as points coloured by class."""
    colors = np.asarray(CLASS_COLORS)[labels]
    ax.scatter(z[:, 0], z[:, 1], c=colors, s=6, linewidths=0, rasterized=False)
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
    fig.legend(handles=handles, loc="outside lower center", ncols=len(class_names))
