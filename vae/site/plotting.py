"""Plotting helpers shared by the figure scripts: one style, byte-stable files.

Saved files are deterministic: SVG element ids come from a fixed salt, and no
creation date or software version is written into SVG or PNG metadata.

Two choices hold for every figure on the site:

- **Text as large as a caption, on a phone too.** The article's column is about
  700 px wide on a desktop and its captions are set at 16 px. A figure at most
  `CONTENT_WIDTH` inches wide is shown there at its own size (96 px per inch),
  where 12 pt is 16 px; a wider one is scaled down, so its text must be larger
  in proportion. On a phone 390 px wide the column is `PHONE_COLUMN_PX` wide
  and every figure is scaled down to it; `CONTENT_WIDTH` is chosen so that
  12 pt text still reads at `MIN_PHONE_PX` there. `check_text_size` enforces
  both, and every SVG records its smallest text size on its root element
  (`data-min-text-pt`) for the browser tests to measure on the page.
- **A light card.** Every figure is drawn on an opaque white background, in the
  light and the dark colour scheme alike (the stylesheet gives it rounded
  corners and a margin in the dark one). Image grids of digits are ink on white
  anyway, and one background for all figures lets every colour be chosen once.
"""

from __future__ import annotations

import io
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.transforms import Bbox
from PIL import Image

MIN_FONT_PT = 12.0  # a caption's 16 px at 96 px per inch
PHONE_COLUMN_PX = 358  # the article's column on a phone 390 CSS px wide
MIN_PHONE_PX = 9.0  # the smallest text a figure may show on that phone
# Inches: the widest figure shown at its own size in the desktop column (700 px)
# whose 12 pt text, scaled down to the phone's column, is still MIN_PHONE_PX.
LAYOUT_GRID = 1e-6  # layout positions are rounded to this fraction of the parent
CONTENT_WIDTH = 6.5
COLUMN_WIDTH = 7.3  # inches: the desktop column, 700 px at 96 px per inch
CARD = "white"  # the background of every figure
INK = "#263238"  # text and outlines
# Colours that mean the same in every figure: the parts of a model, and the
# terms of its loss.
NETWORK_COLOR = "#c5cae9"  # encoder and decoder
CODE_COLOR = "#ffe0b2"  # the latent code
NOISE_COLOR = "#e0e0e0"  # randomness
LOSS_COLOR = "#b71c1c"  # the reconstruction term, and what blocks a gradient
KL_COLOR = "#1565c0"  # the KL term
GRADIENT_COLOR = "#1b5e20"  # gradients that flow

STYLE = {
    "figure.dpi": 100,
    "figure.facecolor": CARD,
    "savefig.facecolor": CARD,
    "savefig.transparent": False,
    "font.size": MIN_FONT_PT,
    "font.family": "DejaVu Sans",
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": MIN_FONT_PT,
    "axes.labelsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.frameon": False,
    "svg.fonttype": "path",  # glyphs as paths: math symbols render without the fonts
    "svg.hashsalt": "vae-explained",  # fixed ids, so a rebuild is byte-identical
}
CLASS_COLORS = plt.get_cmap("tab10").colors


def use_style() -> None:
    """Makes the house style matplotlib's default in this process.

    A text, legend or tick takes its size from the defaults in force when it is
    created, which may be after the figure is; so the style is installed for the
    whole process (each figure script runs in a process of its own) rather than
    only around the call that makes the figure.
    """
    plt.rcParams.update(STYLE)


class RoundedLayout(ConstrainedLayoutEngine):
    """Matplotlib's constrained layout, with every position it sets rounded to
    LAYOUT_GRID of the parent figure's size.

    The same figure, laid out in two processes, can end a hair apart: about one
    run in ten of the interpolation figure wrote one axes 10⁻⁶ px lower, the
    last digit an SVG coordinate is written with, and a clean rebuild was no
    longer byte-identical. Positions rounded to a grid this fine (0.0005 px on
    the article's widest figure) are the same every time.
    """

    def execute(self, fig):
        result = super().execute(fig)
        for sub in _subfigures(fig):
            sub._redo_transform_rel_fig(bbox=_rounded(sub.bbox_relative))
        for ax in fig.axes:
            ax._set_position(_rounded(ax.get_position(original=True)), which="original")
            ax._set_position(_rounded(ax.get_position(original=False)), which="active")
        return result


def _subfigures(fig) -> list:
    return [s for sub in fig.subfigs for s in (sub, *_subfigures(sub))]


def _rounded(box: Bbox) -> Bbox:
    return Bbox(np.round(box.get_points() / LAYOUT_GRID) * LAYOUT_GRID)


def figure(*args, **kwargs) -> tuple[plt.Figure, np.ndarray | plt.Axes]:
    """plt.subplots in the house style, with a constrained layout."""
    use_style()
    return plt.subplots(*args, layout=RoundedLayout(), **kwargs)


def canvas(figsize: tuple[float, float]) -> plt.Figure:
    """An empty figure in the house style, with a constrained layout, for subfigures."""
    use_style()
    return plt.figure(figsize=figsize, layout=RoundedLayout())


def svg_bytes(fig: plt.Figure) -> bytes:
    """The figure as SVG, with no date in it; the figure is closed.

    Its text is checked against `check_text_size` first, and its smallest
    text size, in points, is written on the root element as `data-min-text-pt`.
    """
    check_text_size(fig)
    smallest = min((t.get_fontsize() for t in _visible_texts(fig)), default=MIN_FONT_PT)
    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="svg", dpi=100, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg.replace(b"<svg ", f'<svg data-min-text-pt="{smallest:g}" '.encode(), 1)


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


def _visible_texts(fig: plt.Figure) -> list[plt.Text]:
    return [t for t in fig.findobj(plt.Text) if t.get_visible() and t.get_text().strip()]


def phone_text_px(font_pt: float, figure_width_in: float) -> float:
    """The CSS px of `font_pt` text in a figure `figure_width_in` wide, on a
    phone, where the figure is shown at most `PHONE_COLUMN_PX` wide."""
    natural_px = figure_width_in * 96
    return font_pt * 96 / 72 * min(1.0, PHONE_COLUMN_PX / natural_px)


def min_font_pt(figure_width_in: float) -> float:
    """The smallest text, in points, that a figure `figure_width_in` wide may
    hold: a caption's size in the desktop column and `MIN_PHONE_PX` on a phone."""
    desktop = MIN_FONT_PT * max(1.0, figure_width_in / COLUMN_WIDTH)
    phone = MIN_FONT_PT * MIN_PHONE_PX / phone_text_px(MIN_FONT_PT, figure_width_in)
    return math.ceil(max(desktop, phone) * 100) / 100


def check_text_size(fig: plt.Figure) -> None:
    """Raises ValueError if any visible text of `fig` would read smaller than a
    caption when the figure is shown at the desktop column's width, or smaller
    than `MIN_PHONE_PX` on a phone."""
    width = fig.get_figwidth()
    least = min_font_pt(width) - 0.01
    small = [
        f"{t.get_text()!r} ({t.get_fontsize():.1f} pt)"
        for t in _visible_texts(fig)
        if t.get_fontsize() < least
    ]
    if small:
        raise ValueError(
            f"text smaller than {MIN_FONT_PT:g} pt at {COLUMN_WIDTH:g} in wide, or than"
            f" {MIN_PHONE_PX:g} px on a phone, in a figure {width:g} in wide: " + ", ".join(small)
        )


# -- latent maps ------------------------------------------------------------------

PRIOR_COLOR = "#546e7a"


def digits(ax: plt.Axes, images: np.ndarray, columns: int, title: str = "", pad: int = 2) -> None:
    """Images of shape (N, H, W), values in [0, 1], tiled into `ax`, ink dark on white.

    The tiles keep their pixels: an SVG embeds them at their own resolution,
    drawn crisp at any size, with sixteen gray levels, as `grid_png` writes them.
    """
    grid = 1.0 - image_grid(images, columns, pad=pad, background=0.0)
    grid = np.rint(grid * 15) / 15
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="none")
    ax.set_axis_off()
    if title:
        ax.set_title(title, loc="left")


def latent_scatter(
    ax: plt.Axes, z: np.ndarray, labels: np.ndarray, title: str, limit: float | None = None
) -> None:
    """Codes z of shape (N, 2) as points coloured by class; square axes of
    half-width `limit` when given."""
    colors = np.asarray(CLASS_COLORS)[labels]
    # Rasterized points keep the SVG small; axes and labels stay vector.
    ax.scatter(z[:, 0], z[:, 1], c=colors, s=6, linewidths=0, rasterized=True)
    ax.set_title(title)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if limit is None:
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal", adjustable="box")


def map_limit(*codes: np.ndarray, quantile: float = 0.995, margin: float = 1.08) -> float:
    """Half-width of square axes, centred on 0, that show the given share of
    every set of codes, and the prior's 2-sigma circle."""
    reach = [np.quantile(np.abs(z), quantile) for z in codes]
    return float(margin * max(2.0, *reach))


def prior_circles(ax: plt.Axes, label: bool = True) -> None:
    """The circles of radius 1 and 2 of the prior N(0, I): its 1-sigma and 2-sigma contours.

    They are labelled only when `label` and large enough, against the axes'
    current limits, for their labels not to pile up.
    """
    half_width = abs(ax.get_xlim()[1] - ax.get_xlim()[0]) / 2
    label = label and half_width < 8
    for radius in (1, 2):
        ax.add_patch(
            # Above the codes' dots (zorder 1), with a halo of the card's colour
            # that keeps the dashes apart from dots of any colour beneath them.
            plt.Circle(
                (0, 0), radius, fill=False, color=PRIOR_COLOR, linewidth=1.2, linestyle="--",
                zorder=3, path_effects=[patheffects.withStroke(linewidth=2.6, foreground=CARD)],
            )
        )  # fmt: skip
        if label:
            ax.text(
                radius * 0.74,
                radius * 0.74,
                f"{radius}σ",
                color=PRIOR_COLOR,
                ha="left",
                va="bottom",
                fontsize=MIN_FONT_PT,
                zorder=4,  # above the other circle's halo
            )


def class_legend(fig: plt.Figure, class_names: tuple[str, ...]) -> None:
    """One legend entry per class, below the axes."""
    handles = [
        plt.Line2D(
            [], [], marker="o", markersize=7, linestyle="", color=CLASS_COLORS[i], label=name
        )
        for i, name in enumerate(class_names)
    ]
    columns = len(class_names) if fig.get_figwidth() >= 8 else (len(class_names) + 1) // 2
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=columns,
        handletextpad=0.1,
        columnspacing=1.0,
    )


def gaussian_contours(ax, mu, logvar, masses, color, style, label=None) -> None:
    """The ellipses of N(mu, diag e^logvar) that enclose each of `masses` of it;
    the first carries the legend's label."""
    from vae.posterior import gaussian_ellipse

    for i, share in enumerate(masses):
        z1, z2 = gaussian_ellipse(mu, logvar, share)
        ax.plot(z1, z2, color=color, linestyle=style, linewidth=1.6, label=None if i else label)


def frame_gaussians(ax, extents, gaussians, mass: float, pad: float = 0.15) -> None:
    """Axes limits that hold `extents` (the x and y values of what is drawn) and
    the ellipse of each Gaussian (mu, logvar) that encloses `mass` of it."""
    from vae.posterior import gaussian_box

    boxes = [gaussian_box(mu, logvar, mass) for mu, logvar in gaussians]
    xs = [extents[0].min(), extents[0].max(), *(v for box in boxes for v in box[0])]
    ys = [extents[1].min(), extents[1].max(), *(v for box in boxes for v in box[1])]
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
