"""The figure-scripts page is written from the scripts: a new one appears by itself."""

from vae.site import pages
from vae.site.pages import MARKER, fill, lazy_figures, nav_titles
from vae.site.project import discover

NAV = [
    {"Introduction": "index.md"},
    {"1. Part one": "one.md"},
    {"Reference": [{"The figure scripts": "figure-scripts.md"}]},
]


def write_scripts(directory):
    directory.mkdir()
    (directory / "late.py").write_text('"""Draws the late figure.\n\nMore."""\nPAGE = "one.md"\n')
    (directory / "early.py").write_text(
        '"""Draws the early one."""\nPAGE = "index.md"\nMODELS = ("vae-2d",)\n'
    )
    (directory / "_helper.py").write_text("X = 1\n")
    return discover(directory)


def test_nav_titles_in_nav_order():
    assert list(nav_titles(NAV).items()) == [
        ("index.md", "Introduction"),
        ("one.md", "1. Part one"),
        ("figure-scripts.md", "The figure scripts"),
    ]


def test_every_script_gets_a_section_with_its_anchor_in_page_order(tmp_path):
    scripts = write_scripts(tmp_path / "figures")
    page = fill(f"# The scripts\n\n{MARKER}\n", scripts, nav_titles(NAV))
    assert MARKER not in page
    early, late = page.index("## early.py {#early}"), page.index("## late.py {#late}")
    assert early < late < page.index("{#experiments}")
    assert (
        "Draws the early one. It feeds [Introduction](index.md). Trained models: `vae-2d`." in page
    )
    assert "Draws the late figure. It feeds [1. Part one](one.md)." in page
    assert '--8<-- "figures/late.py"' in page and "_helper" not in page


def test_a_page_without_the_marker_is_left_alone(tmp_path):
    scripts = write_scripts(tmp_path / "figures")
    assert fill("# Other page\n", scripts, nav_titles(NAV)) == "# Other page\n"


def test_figures_load_lazily_and_nothing_else_changes():
    html = (
        '<img alt="a" src="../figures/x/a.svg"><img src="assets/logo.png">'
        '<img loading="eager" src="figures/y/b.png">'
    )
    assert lazy_figures(html) == (
        '<img loading="lazy" decoding="async" alt="a" src="../figures/x/a.svg">'
        '<img src="assets/logo.png"><img loading="eager" src="figures/y/b.png">'
    )


def test_the_extension_writes_the_sections_before_snippets_include_the_sources(tmp_path):
    """Zensical runs Markdown extensions but no MkDocs plugin: the sections must come
    from the extension alone, with each script's source included."""
    import markdown

    root = tmp_path / "checkout"
    root.mkdir()
    write_scripts(root / "figures")
    (root / "vae" / "site").mkdir(parents=True)
    (root / "vae" / "site" / "experiments.py").write_text("EXPERIMENTS = {}\n")
    (root / "mkdocs.yml").write_text(
        "site_name: x\nrepo_url: !ENV [NOWHERE, null]\nnav:\n"
        "  - Introduction: index.md\n  - '1. Part one': one.md\n"
    )
    md = markdown.Markdown(
        extensions=["attr_list", "vae.site.pages", "pymdownx.snippets", "pymdownx.superfences"],
        extension_configs={
            "vae.site.pages": {"root": str(root)},
            "pymdownx.snippets": {"base_path": [str(root)], "check_paths": True},
        },
    )
    html = md.convert(f"# Scripts\n\n{MARKER}\n")
    assert html.index('id="early"') < html.index('id="late"')
    assert 'It feeds <a href="one.md">1. Part one</a>' in html
    assert "Draws the late figure." in html and "PAGE" in html  # the source, included


def test_code_blocks_are_left_out_of_the_search_index():
    html = (
        '<p>prose</p><div class="language-python highlight"><pre><code>x = 1</code></pre></div>'
        '<div class="language-text highlight"><pre>y</pre></div>'
        '<div class="highlight"><pre><code>z</code></pre></div>'
        '<div class="md-copyright__highlight">'
    )
    out = pages.unsearched_code(html)
    assert out.count(" data-search-exclude>") == 3
    assert "<p>prose</p>" in out
    assert pages.unsearched_code("<p>no code</p>") == "<p>no code</p>"
