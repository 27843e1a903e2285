"""Slimming a notebook page: CDN scripts go, CSS for absent classes goes."""

from vae.site.notebook_html import prune_css, slim

CSS = (
    ".a{color:red}.b .c{color:blue}.a,.z{margin:0}p{padding:0}"
    "@media (max-width:10px){.z{top:0}.a{top:1px}}@font-face{font-family:X}"
)


def test_prune_keeps_rules_whose_classes_are_present():
    kept = prune_css(CSS, {"a"})
    assert ".a{color:red}" in kept
    assert ".b .c" not in kept  # needs both b and c
    assert ".a,.z{margin:0}" in kept  # one selector matches
    assert "p{padding:0}" in kept  # no class: kept
    assert "@media (max-width:10px){.a{top:1px}}" in kept
    assert ".z{top:0}" not in kept
    assert "@font-face{font-family:X}" in kept


def test_prune_drops_an_empty_media_block():
    assert "@media" not in prune_css("@media print{.q{a:b}}", {"a"})


def test_slim_removes_cdn_scripts_and_unused_css():
    html = (
        '<style type="text/css">.used{a:b}.unused{c:d}</style>'
        '<script src=""> </script>'
        '<script type="text/x-mathjax-config">init_mathjax()</script>'
        '<script type="module">import("https://cdnjs.cloudflare.com/x.mjs")</script>'
        '<script type="module">console.log(1)</script>'
        '<div class="used other">x</div>'
    )
    out = slim(html)
    assert ".used{a:b}" in out and ".unused" not in out
    assert "cdnjs" not in out and 'src=""' not in out and "mathjax" not in out
    assert "console.log(1)" in out  # other module scripts stay
