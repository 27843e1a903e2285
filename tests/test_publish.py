"""Copying generated files into docs/: what is copied, that an unchanged file is
not rewritten, and that nothing is ever deleted that the copy did not write."""

from pathlib import Path

from vae.site.project import FigureScript
from vae.site.publish import RECORD, figure_files, publish


def outputs(tmp_path):
    figures_out = tmp_path / "cache"
    (figures_out / "plot").mkdir(parents=True)
    for name in ("a.svg", "b.png", "numbers.json", "words.json", "_manifest.json"):
        (figures_out / "plot" / name).write_bytes(name.encode())
    (figures_out / "notebook").mkdir()
    (figures_out / "notebook" / "notebook.ipynb").write_text("{}")
    scripts = [
        FigureScript("plot", Path("figures/plot.py"), "index.md"),
        FigureScript("notebook", Path("figures/notebook.py"), "notebook.ipynb"),
    ]
    return scripts, figures_out


def test_only_the_pictures_are_copied(tmp_path):
    scripts, figures_out = outputs(tmp_path)
    files = figure_files(scripts, figures_out)
    assert sorted(files) == ["figures/plot/a.svg", "figures/plot/b.png"]
    docs = tmp_path / "docs"
    assert publish(files, docs) == sorted(files)
    assert (docs / "figures" / "plot" / "a.svg").read_bytes() == b"a.svg"
    assert (docs / RECORD).is_file()


def test_an_unchanged_file_is_not_written_again(tmp_path):
    scripts, figures_out = outputs(tmp_path)
    docs = tmp_path / "docs"
    publish(figure_files(scripts, figures_out), docs)
    written = docs / "figures" / "plot" / "a.svg"
    mtime = written.stat().st_mtime_ns
    assert publish(figure_files(scripts, figures_out), docs) == []
    assert written.stat().st_mtime_ns == mtime
    (figures_out / "plot" / "a.svg").write_bytes(b"new")
    assert publish(figure_files(scripts, figures_out), docs) == ["figures/plot/a.svg"]
    assert written.read_bytes() == b"new"


def test_only_what_an_earlier_copy_wrote_is_removed(tmp_path):
    """Broken version: clearing docs/figures/ before copying, which deletes a
    file someone put there by hand."""
    scripts, figures_out = outputs(tmp_path)
    docs = tmp_path / "docs"
    publish(figure_files(scripts, figures_out), docs)
    mine = docs / "figures" / "plot" / "mine.svg"
    mine.write_text("a reader's own file")
    (docs / "figures" / "kept.txt").write_text("notes")
    (figures_out / "plot" / "b.png").unlink()
    assert publish(figure_files(scripts, figures_out), docs) == ["figures/plot/b.png"]
    assert not (docs / "figures" / "plot" / "b.png").exists()
    assert mine.read_text() == "a reader's own file"
    assert (docs / "figures" / "kept.txt").read_text() == "notes"
    # A figure that is gone takes its folder with it, when nothing else is there.
    publish({}, docs)
    assert not (docs / "figures" / "plot" / "a.svg").exists()
    assert mine.exists() and (docs / "figures" / "kept.txt").exists()
