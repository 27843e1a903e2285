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
    assert (
        prune_css("@supports (display:grid){.a{b:c}}", {"a"}) == "@supports (display:grid){.a{b:c}}"
    )


def test_prune_reads_css_as_a_browser_does():
    # A dot in a comment or a string is not a class; a comma inside :is() does
    # not split the selector; a brace in a string does not end the block.
    css = (
        "/* Keyword.Constant */\n.a .kc{color:green}"
        '.a[data-mime-type="application/vnd.jupyter.stderr"]{background:pink}'
        ".w :is(.a:hover,.gone) .a{x:y}"
        '.a::after{content:"}"}'
    )
    kept = prune_css(css, {"a", "kc"})
    assert ".a .kc{color:green}" in kept and "Keyword" not in kept
    assert 'stderr"]{background:pink}' in kept
    assert ":is(" not in kept
    assert '.a::after{content:"}"}' in kept


def test_prune_drops_what_a_browser_would_ignore():
    # mkdocs-jupyter writes one style block as a Python list's repr; a browser
    # reads it as a single invalid rule, and so does the pruner.
    broken = "['pre { line-height: 125%; }\\n.highlight-ipynb .k { color: green }']"
    assert prune_css(broken, {"highlight-ipynb", "k"}) == ""


def test_slim_removes_cdn_scripts_and_unused_css():
    html = (
        '<style type="text/css">.used{a:b}.unused{c:d}</style>'
        '<script src=""> </script>'
        '<script type="text/x-mathjax-config">init_mathjax()</script>'
        '<script type="module">import("https://cdnjs.cloudflare.com/x.mjs")</script>'
        '<script type="module">console.log(1)</script>'
        '<script src="kept.js"></script>'
        '<div class="used other">x</div>'
    )
    out = slim(html)
    assert ".used{a:b}" in out and ".unused" not in out
    assert "cdnjs" not in out and 'src=""' not in out and "mathjax" not in out
    assert "console.log(1)" in out  # other module scripts stay
    assert '<script src="kept.js"></script>' in out


def test_slim_takes_classes_from_elements_not_from_script_text():
    html = (
        "<style>.real{a:b}.fake{c:d}</style>"
        "<script>document.body.innerHTML = '<i class=\"fake\"></i>'</script>"
        '<p class="real">x</p>'
    )
    out = slim(html)
    assert ".real{a:b}" in out and ".fake" not in out
    assert out.endswith('<p class="real">x</p>')  # everything else as it was
