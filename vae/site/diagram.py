"""Diagram pieces for the figure scripts: boxes, pictures, arrows and brackets.

A diagram is drawn on `diagram_axes`, whose data coordinates are inches, so a
piece's position and size read as they will be printed. A `node` (a labelled
box) and a `picture` (an image in a frame) return what an `arrow` can start or
end at; `term` marks the parts of a diagram that a term of the loss belongs to.
The house style and its colours are `vae.site.plotting`'s.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from vae.site.plotting import INK, min_font_pt, use_style

BOX_STYLE = {"boxstyle": "round,pad=0.35", "linewidth": 1.2}  # a node's outline

# Where an arrow starts or ends: a point, a `node` or a `picture`.
Anchor = tuple[float, float] | plt.Text | plt.Rectangle


def diagram_axes(width: float, height: float) -> tuple[plt.Figure, plt.Axes]:
    """An empty canvas with data coordinates 0..width by 0..height, one unit per inch.

    Its text is the smallest that reads in a figure this wide
    (`plotting.min_font_pt`), a node's a point larger.
    """
    use_style()
    plt.rcParams["font.size"] = min_font_pt(width)
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def node(
    ax: plt.Axes, x: float, y: float, text: str, color: str, size: float | None = None
) -> plt.Text:
    """A labelled rounded box centred at (x, y); arrows can start or end at it."""
    return ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=size or plt.rcParams["font.size"] + 1,
        color=INK,
        zorder=3,
        bbox={**BOX_STYLE, "facecolor": color, "edgecolor": INK},
    )


def _anchor(end: Anchor) -> tuple[tuple[float, float], object]:
    """The centre of an arrow's end and the patch the arrow stops at (or None)."""
    if isinstance(end, plt.Text):
        return end.get_position(), end.get_bbox_patch()
    if isinstance(end, plt.Rectangle):
        x, y = end.get_xy()
        return (x + end.get_width() / 2, y + end.get_height() / 2), end
    return (float(end[0]), float(end[1])), None


def arrow(
    ax: plt.Axes,
    start: Anchor,
    end: Anchor,
    label: str = "",
    color: str = INK,
    dashed: bool = False,
    bend: float = 0.0,
    label_offset: tuple[float, float] = (0.0, 0.12),
    label_size: float | None = None,
) -> None:
    """An arrow from start to end, each a point or a box (a `node` or a `picture`).

    An arrow between boxes runs from centre to centre and is cut where it leaves
    the first box and where it meets the second, so it touches both. `bend`
    curves it (the arc3 radius); the label sits by its middle, moved by
    `label_offset` inches.
    """
    (x0, y0), patch_a = _anchor(start)
    (x1, y1), patch_b = _anchor(end)
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        zorder=4,  # after the boxes, whose outlines are placed when they are drawn
        arrowprops={
            "arrowstyle": "-|>,head_length=0.5,head_width=0.25",
            "color": color,
            "linewidth": 1.4,
            "linestyle": "--" if dashed else "-",
            "patchA": patch_a,
            "patchB": patch_b,
            "shrinkA": 0 if patch_a is not None else 2,
            "shrinkB": 0 if patch_b is not None else 2,
            "connectionstyle": f"arc3,rad={bend}",
        },
    )
    if label:
        middle = ((x0 + x1) / 2 + label_offset[0], (y0 + y1) / 2 + label_offset[1])
        ax.text(
            *middle,
            label,
            ha="center",
            va="bottom",
            fontsize=label_size or plt.rcParams["font.size"],
            color=color,
        )


def term(
    ax: plt.Axes, x0: float, x1: float, y: float, text: str, color: str, height: float = 0.12
) -> None:
    """A bracket under the parts from x0 to x1 of a diagram, with `text` below it:
    which part of the picture a term of the loss belongs to."""
    ax.plot(
        [x0, x0, x1, x1],
        [y + height, y, y, y + height],
        color=color,
        linewidth=1.4,
        solid_capstyle="butt",
    )
    ax.text((x0 + x1) / 2, y - 0.08, text, ha="center", va="top", color=color)


def picture(
    ax: plt.Axes, image: np.ndarray, x: float, y: float, size: float, title: str
) -> plt.Rectangle:
    """A gray image of side `size` centred at (x, y), ink dark on white, titled
    below; returns its frame, which arrows can start or end at."""
    half = size / 2
    ax.imshow(
        1.0 - image,
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="none",
        extent=(x - half, x + half, y - half, y + half),
        zorder=2,
    )
    frame = plt.Rectangle(
        (x - half, y - half), size, size, fill=False, edgecolor=INK, linewidth=1.0, zorder=3
    )
    ax.add_patch(frame)
    ax.text(x, y - half - 0.1, title, ha="center", va="top")
    return frame
