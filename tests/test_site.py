"""The whole site, built by `mkdocs build --strict` in the quick profile, in
temporary copies of the repository."""

import filecmp
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from mkdocs.config import load_config

from vae.site import scheduler
from vae.site.context import NUMBERS, WORDS
from vae.site.mkdocs_plugin import FiguresPlugin, repository_url
from vae.site.placeholders import PLACEHOLDER

from .conftest import REPO, REPO_URL, copy_repo, mkdocs_build

pytestmark = pytest.mark.slow


@pytest.fixture
def built(built_site):
    return built_site


def test_strict_build_renders_figures_and_numbers(built):
    root, result = built
    figures = len(scheduler.discover(root / "figures"))
    assert f"{figures} ran, 0 cached, 0 failed" in result.stderr
    html = (root / "site" / "results" / "index.html").read_text()
    figures_out = root / "cache" / "quick" / "figures"
    numbers = json.loads((figures_out / "iwae_bound" / NUMBERS).read_text())
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
    # Outputs are copied to docs/figures/ only, which git ignores; records and values are not.
    generated = {p.relative_to(root / "docs").parts[0] for p in (root / "docs").rglob("*.svg")}
    assert generated == {"figures"}
    assert not list((root / "docs" / "figures").rglob("_manifest.json"))
    assert not list((root / "site" / "figures").rglob(NUMBERS))
    # Every script and stylesheet the pages load is part of the site.
    config = load_config(str(root / "mkdocs.yml"))
    for asset in config["extra_javascript"] + config["extra_css"]:
        path = str(getattr(asset, "path", asset))
        assert (root / "site" / path).is_file(), f"{path} is not in the site"
    # Every page links to the repository, and to its own source for editing.
    assert f'href="{REPO_URL}"' in html and 'class="md-source"' in html
    assert f'href="{REPO_URL}/edit/main/docs/results.md"' in html
    assert 'data-md-component="source"' not in html  # no call to the code host's API
    # The notebook page shows the outputs of its execution at build time.
    notebook = (root / "site" / "notebook" / "index.html").read_text()
    assert "test ELBO after" in notebook and "data:image/png;base64" in notebook


def test_footnotes_are_numbered_in_the_order_the_text_cites_them(built):
    root, _ = built
    for path in sorted((root / "site").rglob("index.html")):
        cited = re.findall(r'class="footnote-ref" href="#fn:[^"]+">(\d+)</a>', path.read_text())
        first = list(dict.fromkeys(int(n) for n in cited))
        assert first == list(range(1, len(first) + 1)), f"{path.parent.name}: {cited}"


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
    [weights] = [  # vae-2d's run, not that of vae-2d-flow and its kin
        w
        for w in (root / "cache" / "models").glob("vae-2d-*/model.safetensors")
        if re.fullmatch(r"vae-2d-[0-9a-f]+", w.parent.name)
    ]
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
    assert "index.md:" in result.stderr
    assert "no value model_scores.no_such_key" in result.stderr


def test_every_recorded_value_is_quoted_by_a_page(built):
    """A number or words a figure records and no page uses is dead code."""
    root, _ = built
    used = set()
    for page in (root / "docs").rglob("*.md"):
        used |= {f"{f}.{k}" for f, k, _ in PLACEHOLDER.findall(page.read_text())}
    recorded = set()
    for directory in (root / "cache" / "quick" / "figures").iterdir():
        for filename in (NUMBERS, WORDS):
            if (directory / filename).is_file():
                keys = json.loads((directory / filename).read_text())
                recorded |= {f"{directory.name}.{key}" for key in keys}
    assert sorted(recorded - used) == []


def test_the_pages_link_to_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_REPO_URL", "https://github.com/someone/vae-explained")
    monkeypatch.setenv("VAE_EDIT_URI", "edit/trunk/docs/")
    config = load_config(str(REPO / "mkdocs.yml"))
    assert config.repo_url == "https://github.com/someone/vae-explained"
    assert config.edit_uri == "edit/trunk/docs/"
    # Without an edit address, the main branch's.
    monkeypatch.delenv("VAE_EDIT_URI")
    assert load_config(str(REPO / "mkdocs.yml")).edit_uri == "edit/main/docs/"
    # Without the variable, the checkout's origin remote gives it.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    remote = ["git", "-C", str(tmp_path), "remote", "add", "origin"]
    subprocess.run([*remote, "git@github.com:someone/vae-explained.git"], check=True)
    assert repository_url(tmp_path) == "https://github.com/someone/vae-explained"
    assert repository_url(tmp_path / "nowhere") is None


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
    plugin = FiguresPlugin()
    plugin.report, plugin.scripts = report, scripts
    config = {"mdx_configs": {}}
    page = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="other.md"))
    marked = plugin.on_page_markdown("# Title\n", page, config, None)
    assert marked.startswith('!!! failure "This figure is stale: its script failed"')
    assert "figures/plot.py" in marked
    assert plugin.on_page_markdown("# Title\n", other, config, None) == "# Title\n"
    assert config["mdx_configs"]["vae.site.placeholders"]["page"] == "other.md"
