"""Slimming the HTML that mkdocs-jupyter writes for a notebook page.

Its template inlines about half a megabyte of JupyterLab CSS, most of it for
widgets the page never shows, and script tags for MathJax and Mermaid from a
CDN. The site typesets math with its own KaTeX and has no Mermaid diagrams, so
`slim` removes those script tags and keeps only the CSS rules whose class
names all occur in the page.

The page is read with the standard library's HTML parser (`vae.site.html.parse`)
and the CSS with tinycss2, so comments, strings and nested blocks are what a
browser takes them for. The classes in use are those of the page's elements;
the page's scripts add none that the JupyterLab CSS styles.
"""

from __future__ import annotations

import tinycss2

from vae.site.html import Element, Splices, end_of_close, parse

CDN = "cdnjs.cloudflare.com"


def _classes_of(tokens) -> set[str]:
    """Class names in a selector's tokens ("." then a name), in nested blocks too."""
    found = set()
    previous = None
    for token in tokens:
        if token.type == "ident" and previous == ".":
            found.add(token.value)
        if token.type in ("function", "() block", "[] block"):
            found |= _classes_of(token.arguments if token.type == "function" else token.content)
        previous = token.value if token.type == "literal" else None
    return found


def _selectors(prelude) -> list[list]:
    """A rule's prelude split at its top-level commas."""
    selectors: list[list] = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            selectors.append([])
        else:
            selectors[-1].append(token)
    return selectors


def _keep(rule, classes: set[str]) -> bool:
    return any(_classes_of(selector) <= classes for selector in _selectors(rule.prelude))


def _prune_rules(rules, classes: set[str]) -> str:
    out = []
    for rule in rules:
        if rule.type == "qualified-rule":
            if _keep(rule, classes):
                prelude = tinycss2.serialize(rule.prelude).strip()
                out.append(f"{prelude}{{{tinycss2.serialize(rule.content)}}}")
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports"):
            inner = tinycss2.parse_rule_list(
                rule.content or [], skip_comments=True, skip_whitespace=True
            )
            kept = _prune_rules(inner, classes)
            if kept:
                prelude = tinycss2.serialize(rule.prelude).strip()
                out.append(f"@{rule.at_keyword} {prelude}{{{kept}}}")
        elif rule.type == "at-rule":
            out.append(rule.serialize())
    return "".join(out)


def prune_css(css: str, classes: set[str]) -> str:
    """Keeps the rules with at least one selector whose class names are all in `classes`.

    Rules without class names (elements, :root, custom properties) are kept;
    @media and @supports blocks are pruned inside; other at-rules are kept whole.
    Comments go.
    """
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return _prune_rules(rules, classes)


def _unwanted(html: str, script: Element) -> bool:
    """A script tag the notebook template adds and this site does not want: an empty
    MathJax loader, its configuration, and the Mermaid loader that imports from a CDN."""
    body = html[script.end : script.close] if script.close is not None else ""
    kind = script.attrs.get("type")
    return (
        (script.attrs == {"src": ""} and not body.strip())
        or kind == "text/x-mathjax-config"
        or (kind == "module" and CDN in body)
    )


def slim(html: str) -> str:
    """The notebook page without CDN scripts and with only the CSS it uses."""
    elements = parse(html)
    classes = {c for element in elements for c in element.classes}
    splices = Splices()
    for element in elements:
        if element.name == "script" and _unwanted(html, element):
            splices.replace(element.start, end_of_close(html, element), "")
        elif element.name == "style" and element.close is not None:
            css = html[element.end : element.close]
            splices.replace(element.end, element.close, prune_css(css, classes))
    return splices.apply(html)
