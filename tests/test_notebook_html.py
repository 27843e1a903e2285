"""The notebook page: CDN scripts and CSS for absent classes go; cells, outputs,
equations and figures are named for a reader with a keyboard or a screen reader."""

from vae.site.notebook_html import (
    NBCONVERT_PLACEHOLDER,
    describe_images,
    focusable_cells,
    prune_css,
    repair,
    slim,
)

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


NOTEBOOK = (
    '<div class="jp-Notebook">'
    '<div class="jp-Cell jp-MarkdownCell" id="cell-id=m1">'
    '<div class="jp-Cell-inputWrapper" tabindex="0"><div class="jp-RenderedMarkdown">'
    '<h2 id="s">Samples and the latent map<a class="anchor-link" href="#s">¶</a></h2>'
    "<p>Codes drawn from the prior $\\mathcal{N}(0, I)$ and decoded.</p>"
    "<p>$$-\\mathrm{ELBO} = L$$</p></div></div></div>"
    '<div class="jp-Cell jp-CodeCell" id="cell-id=c5">'
    '<div class="jp-Cell-inputWrapper" tabindex="0">'
    '<div class="jp-InputPrompt jp-InputArea-prompt">In&nbsp;[5]:</div>'
    '<div class="highlight-ipynb hl-python"><pre><span></span>x = 1\n</pre></div></div>'
    '<div class="jp-OutputArea-output" tabindex="0">'
    f'<img alt="{NBCONVERT_PLACEHOLDER}" src="data:image/png;base64,AAAA"/></div>'
    '<div class="jp-OutputArea-output" tabindex="0"><img alt="Given by the cell." src="x.png"/>'
    "</div></div></div>"
)


def test_code_cells_and_equations_scroll_in_named_groups_and_only_those_take_focus():
    out = focusable_cells(NOTEBOOK)
    assert 'class="jp-Cell-inputWrapper" tabindex' not in out
    assert (
        '<div class="highlight-ipynb hl-python" tabindex="0" role="group" '
        'aria-label="Code cell 5">' in out
    )
    assert '<p tabindex="0" role="group" aria-label="Equation 1" class="vae-display-math">$$' in out
    assert 'tabindex="0" role="group" aria-label="Output of cell 5"' in out


def test_a_figure_is_described_by_the_markdown_cell_before_it():
    out = describe_images(NOTEBOOK)
    assert NBCONVERT_PLACEHOLDER not in out
    assert (
        'alt="Samples and the latent map: Codes drawn from the prior N(0, I) and decoded.'
        ' -ELBO = L"' in out
    )
    assert 'alt="Given by the cell."' in out  # alt text from the notebook stays


def test_a_figure_with_no_markdown_before_it_names_its_cell():
    text = (
        '<div class="jp-Cell jp-CodeCell" id="cell-id=c1">'
        '<div class="jp-InputPrompt">In&nbsp;[2]:</div>'
        f'<img alt="{NBCONVERT_PLACEHOLDER}" src="x.png"/></div>'
    )
    assert 'alt="Figure drawn by notebook cell 2"' in describe_images(text)


def test_repairing_twice_changes_nothing_more():
    once = repair(NOTEBOOK)
    assert repair(once) == once
