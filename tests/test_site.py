"""The whole site, built by `mkdocs build --strict` in the quick profile, in
temporary copies of the repository."""

import filecmp
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from vae.site import mkdocs_hook, scheduler

from .conftest import copy_repo, mkdocs_build

pytestmark = pytest.mark.slow


@pytest.fixture
def built(built_site):
    return built_site


def test_strict_build_renders_figures_and_numbers(built):
    root, result = built
    figures = len(scheduler.discover(root / "figures"))
    assert f"{figures} ran, 0 cached, 0 failed" in result.stderr
    html = (root / "site" / "results" / "index.html").read_text()
    numbers = json.loads((root / "site" / "figures" / "iwae_bound" / "numbers.json").read_text())
    assert f"{numbers['vae_20d_k1']:,.2f}" in html
    assert "{{" not in html
    for page in ("index", "autoencoders", "variational-inference", "results"):
        text = (
            root / "site" / page / "index.html" if page != "index" else root / "site" / "index.html"
        ).read_text()
        assert "/// " not in text, f"{page}: an unprocessed block marker"
        assert "{{" not in text, f"{page}: an unreplaced number"
    for image in ("latent_maps/side-by-side.svg", "prior_samples/vae-2d.png"):
        assert (root / "site" / "figures" / image).stat().st_size > 1000
    assert not (root / "docs" / "figures").exists()  # nothing generated lands in docs/
    # Every script and stylesheet the pages load is part of the site.
    config = yaml.safe_load((root / "mkdocs.yml").read_text().replace("!!python", "#"))
    for asset in config["extra_javascript"] + config["extra_css"]:
        assert (root / "site" / asset).is_file(), f"{asset} is not in the site"
    # The notebook page shows the outputs of its execution at build time.
    notebook = (root / "site" / "notebook" / "index.html").read_text()
    assert "test ELBO after" in notebook and "data:image/png;base64" in notebook


def test_a_prose_edit_reruns_nothing(built):
    root, _ = built
    page = root / "docs" / "index.md"
    page.write_text(page.read_text() + "\nOne more sentence.\n")
    result = mkdocs_build(root)
    assert result.returncode == 0, result.stderr
    figures = len(scheduler.discover(root / "figures"))
    assert f"0 ran, {figures} cached, 0 failed" in result.stderr
    assert "One more sentence." in (root / "site" / "index.html").read_text()


def test_a_damaged_model_is_trained_again(built):
    root, _ = built
    [weights] = (root / "cache" / "models").glob("vae-2d-*/model.safetensors")
    weights.write_bytes(weights.read_bytes()[:-10] + b"\0" * 10)
    project = scheduler.Project(root, "quick", root / "cache")
    report = scheduler.build(project, only=["prior_samples"], force=True, log=lambda _: None)
    assert report.results[0].trained == ["vae-2d"]


def test_an_unknown_number_fails_the_strict_build(built, tmp_path):
    root = copy_repo(tmp_path / "repo")
    shutil.copytree(built[0] / "cache", root / "cache")
    page = root / "docs" / "index.md"
    page.write_text(page.read_text() + "\nIt is {{ model_scores.no_such_key }}.\n")
    result = mkdocs_build(root)
    assert result.returncode != 0
    assert "no number model_scores.no_such_key" in result.stderr


def test_a_failing_figure_fails_the_build_with_its_name(built, tmp_path):
    root = copy_repo(tmp_path / "repo")
    shutil.copytree(built[0] / "cache", root / "cache")
    (root / "figures" / "broken_plot.py").write_text(
        "def make(ctx):\n    raise ValueError('the axes are upside down')\n"
    )
    result = mkdocs_build(root)
    assert result.returncode != 0
    assert "figure script failed: broken_plot" in result.stderr
    assert "ValueError: the axes are upside down" in result.stderr


def test_a_new_script_is_on_the_figure_scripts_page_by_itself(built, tmp_path):
    """A new author adds a script and a figure with the usual caption link; nothing else."""
    root = copy_repo(tmp_path / "repo")
    shutil.copytree(built[0] / "cache", root / "cache")
    (root / "figures" / "throwaway.py").write_text(
        '"""A throwaway figure for this test."""\n\n'
        "from vae.site import plotting\n\n"
        'PAGE = "index.md"\n\n\n'
        "def make(ctx):\n"
        "    fig, ax = plotting.figure()\n"
        '    ctx.save("line.svg", plotting.svg_bytes(fig))\n'
    )
    page = root / "docs" / "index.md"
    page.write_text(
        page.read_text() + "\n![A line](figures/throwaway/line.svg)\n\n"
        "/// figure-caption\nA line. [Script](figure-scripts.md#throwaway)\n///\n"
    )
    result = mkdocs_build(root)
    assert result.returncode == 0, result.stderr
    assert "1 ran" in result.stderr
    scripts_page = (root / "site" / "figure-scripts" / "index.html").read_text()
    assert 'id="throwaway"' in scripts_page
    assert "A throwaway figure for this test." in scripts_page


def test_two_clean_builds_are_byte_identical(built, tmp_path):
    first = built[0] / "cache" / "quick" / "figures"
    root = copy_repo(tmp_path / "repo")
    assert mkdocs_build(root).returncode == 0
    second = root / "cache" / "quick" / "figures"
    for figure in sorted(p.name for p in first.iterdir()):
        names = sorted(p.name for p in (first / figure).iterdir())
        assert names == sorted(p.name for p in (second / figure).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(
            first / figure, second / figure, names, shallow=False
        )
        assert mismatch == [] and errors == [], figure


def test_serve_marks_the_page_of_a_failed_figure_as_stale(monkeypatch):
    report = scheduler.BuildReport(
        [scheduler.FigureResult("plot", "failed", error="Traceback ...")], Path("/nowhere"), 0.0
    )
    scripts = [scheduler.FigureScript("plot", Path("figures/plot.py"), "index.md")]
    monkeypatch.setitem(mkdocs_hook._state, "report", report)
    monkeypatch.setitem(mkdocs_hook._state, "scripts", scripts)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="other.md"))
    marked = mkdocs_hook.on_page_markdown("# Title\n", page, None, None)
    assert marked.startswith('!!! failure "This figure is stale: its script failed"')
    assert "figures/plot.py" in marked
    assert mkdocs_hook.on_page_markdown("# Title\n", other, None, None) == "# Title\n"


@pytest.mark.parametrize(
    "value, spec, text",
    [(-199.94216, None, "-199.94"), (4500, None, "4,500"), (0.5, ".0%", "50%"), ("x", None, "x")],
)
def test_number_formatting(value, spec, text):
    assert mkdocs_hook.format_number(value, spec) == text
