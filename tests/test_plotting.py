"""The figures' house style and writers (`vae.site.plotting`), and the diagram
pieces (`vae.site.diagram`): byte-stable files, text no smaller than a caption."""

import re

import numpy as np
import pytest
from matplotlib.text import Annotation

from vae.site import diagram, plotting


def line_figure(fontsize=None):
    fig, ax = plotting.figure(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a line", fontsize=fontsize)
    return fig


def test_an_svg_is_the_same_bytes_every_time_and_carries_no_date():
    first, second = plotting.svg_bytes(line_figure()), plotting.svg_bytes(line_figure())
    assert first == second
    assert b"<dc:date>" not in first and b"<text" not in first  # glyphs as paths


def test_the_layout_puts_every_subfigure_and_axes_on_a_grid_near_where_matplotlib_would():
    """A hair's difference in the layout's solver, from one process to the next,
    would flip an SVG coordinate's last digit; positions on a grid cannot."""
    placed = []
    for layout in (None, "constrained"):
        fig = plotting.canvas((6.5, 4.8))
        if layout:
            fig.set_layout_engine(layout)
        top, bottom = fig.subfigures(2, 1, height_ratios=(2.0, 2.8))
        top.subplots(2, 1)
        bottom.subplots().set_ylabel("two\nlines")
        fig.draw_without_rendering()
        boxes = [a.get_position() for a in fig.axes] + [s.bbox_relative for s in fig.subfigs]
        placed.append(np.array([b.get_points() for b in boxes]))
    rounded, plain = placed
    steps = rounded / plotting.LAYOUT_GRID
    assert np.allclose(steps, np.round(steps), rtol=0, atol=1e-6)
    off_grid = np.abs(plain / plotting.LAYOUT_GRID - np.round(plain / plotting.LAYOUT_GRID))
    assert off_grid.max() > 1e-3  # matplotlib alone leaves them anywhere
    assert np.allclose(rounded, plain, rtol=0, atol=plotting.LAYOUT_GRID)


def test_text_smaller_than_a_caption_is_refused():
    plotting.check_text_size(line_figure())
    with pytest.raises(ValueError, match=re.escape("'a line' (9.0 pt)")):
        plotting.check_text_size(line_figure(fontsize=9))


def test_a_wide_figure_needs_text_large_enough_for_a_phone():
    """12 pt fits the desktop column in a 10 in figure scaled to 700 px only if
    enlarged; on a phone, a figure at CONTENT_WIDTH keeps 12 pt at 9 px or more."""
    assert plotting.phone_text_px(plotting.MIN_FONT_PT, plotting.CONTENT_WIDTH) >= 9.0
    assert plotting.phone_text_px(12, 7.3) < 9.0  # the old column width failed phones
    assert plotting.phone_text_px(12, 3.0) == pytest.approx(16.0)  # shown at its own size
    fig, ax = plotting.figure(figsize=(7.3, 3))
    ax.set_title("wide", fontsize=13.1)  # enough for the desktop column, not a phone
    with pytest.raises(ValueError, match="9 px on a phone"):
        plotting.check_text_size(fig)


def test_an_svg_records_its_smallest_text_for_the_browser_tests():
    fig = line_figure()
    fig.axes[0].set_xlabel("x", fontsize=14)
    svg = plotting.svg_bytes(fig)
    assert re.search(rb'<svg data-min-text-pt="12" ', svg)
    with pytest.raises(ValueError, match=re.escape("9.0 pt")):
        plotting.svg_bytes(line_figure(fontsize=9))


def test_a_grid_png_has_sixteen_grays_and_the_scale_asked_for():
    from io import BytesIO

    from PIL import Image

    images = np.linspace(0, 1, 4 * 5 * 5).reshape(4, 5, 5)
    image = Image.open(BytesIO(plotting.grid_png(images, columns=2, scale=3)))
    assert image.size == (3 * (2 * 7 + 2), 3 * (2 * 7 + 2))  # 2 + (5 + 2) per tile
    assert len(image.getcolors()) <= 16


def test_a_diagram_draws_with_arrows_between_its_pieces():
    fig, ax = diagram.diagram_axes(4.0, 2.0)
    box = diagram.node(ax, 1.0, 1.0, "encoder", plotting.NETWORK_COLOR)
    frame = diagram.picture(ax, np.zeros((5, 5)), 3.0, 1.2, 0.8, "input $x$")
    diagram.arrow(ax, box, frame, label="a label")
    diagram.arrow(ax, (0.1, 0.1), box, dashed=True)
    diagram.term(ax, 0.5, 3.5, 0.3, "a term", plotting.KL_COLOR)
    arrows = [a for a in ax.texts if isinstance(a, Annotation)]
    assert [a.arrow_patch.patchA for a in arrows] == [box.get_bbox_patch(), None]
    assert arrows[0].arrow_patch.patchB is frame
    plotting.check_text_size(fig)
    assert plotting.svg_bytes(fig).startswith(b"<?xml")


def test_the_diagram_scripts_import_the_diagram_pieces_themselves():
    """The pieces live in one module, reached by one name."""
    from .conftest import REPO

    for name in ("diagrams", "reparameterization", "exact_plate"):
        source = (REPO / "figures" / f"{name}.py").read_text()
        assert "diagram." in source and "plotting.node(" not in source, name
    assert not hasattr(plotting, "node") and not hasattr(plotting, "png_bytes")
