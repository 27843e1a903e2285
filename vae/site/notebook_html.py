"""Slimming the HTML that mkdocs-jupyter writes for a notebook page.

Its template inlines about half a megabyte of JupyterLab CSS, most of it for
widgets the page never shows, and script tags for MathJax and Mermaid from a
CDN. The site typesets math with its own KaTeX and has no Mermaid diagrams, so
`slim` removes those script tags and keeps only the CSS rules whose class
names all occur in the page.
"""

from __future__ import annotations

import re

_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.S)
_CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
_SELECTOR_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
# Script tags the notebook template adds and this site does not want: an empty
# MathJax loader, its configuration, and the Mermaid loader that imports from a CDN.
_UNWANTED_SCRIPTS = (
    re.compile(r'<script src="">\s*</script>'),
    re.compile(r'<script type="text/x-mathjax-config">.*?</script>', re.S),
    re.compile(
        r'<script type="module">(?:(?!</script>).)*cdnjs\.cloudflare\.com.*?</script>', re.S
    ),
)


def _blocks(css: str) -> list[tuple[str, str]]:
    """Top-level (prelude, body) pairs of a CSS text; at-rules keep their braces' content."""
    blocks, i = [], 0
    while i < len(css):
        start = css.find("{", i)
        if start < 0:
            break
        depth, j = 1, start + 1
        while j < len(css) and depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        blocks.append((css[i:start].strip(), css[start + 1 : j - 1]))
        i = j
    return blocks


def prune_css(css: str, classes: set[str]) -> str:
    """Keeps the rules with at least one selector whose class names are all in `classes`.

    Rules without class names (elements, :root, custom properties) are kept;
    @media and @supports blocks are pruned inside; other at-rules are kept whole.
    """
    out = []
    for prelude, body in _blocks(css):
        if prelude.startswith(("@media", "@supports")):
            inner = prune_css(body, classes)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        elif any(
            set(_SELECTOR_CLASS.findall(selector)) <= classes for selector in prelude.split(",")
        ):
            out.append(f"{prelude}{{{body}}}")
    return "".join(out)


def slim(html: str) -> str:
    """The notebook page without CDN scripts and with only the CSS it uses."""
    for pattern in _UNWANTED_SCRIPTS:
        html = pattern.sub("", html)
    classes = {c for attr in _CLASS_ATTRIBUTE.findall(html) for c in attr.split()}
    return _STYLE.sub(lambda m: m.group(1) + prune_css(m.group(2), classes) + m.group(3), html)
