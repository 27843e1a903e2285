"""The notebook page: mkdocs-jupyter's HTML, slimmed and repaired.

Its template inlines about half a megabyte of JupyterLab CSS, most of it for
widgets the page never shows, and script tags for MathJax and Mermaid from a
CDN. The site typesets math with its own KaTeX and has no Mermaid diagrams, so
`slim` removes those script tags and keeps only the CSS rules whose class
names all occur in the page's elements. The page is read with the standard
library's HTML parser (`vae.site.splices.parse`) and the CSS with tinycss2, so
comments, strings and nested blocks are what a browser takes them for.

`repair` fills nbconvert's gaps for readers with a keyboard or a screen reader:
a code cell and a displayed equation, which may scroll sideways, are focusable
and named; of the focus stops nbconvert adds, the cells' (which do not scroll)
go and the outputs' get names; and a figure nbconvert left with its placeholder
alt text is described by the markdown cell that introduces it. Alt text given
in the notebook (an output's or a cell's "alt" metadata) is kept.
"""

from __future__ import annotations

import re

import tinycss2

from vae.site.html import plain_math
from vae.site.splices import HEADINGS, Element, Splices, end_of_close, parse

CDN = "cdnjs.cloudflare.com"
NBCONVERT_PLACEHOLDER = "No description has been provided for this image"
DISPLAY_MATH = "vae-display-math"  # a paragraph that is one equation; see extra.css


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


def repair(html: str) -> str:
    """The notebook page usable by keyboard and screen reader (see the module docstring)."""
    return describe_images(focusable_cells(html))


def focusable_cells(html: str) -> str:
    """Code cells and equations focusable and named; the cells' own focus stops gone."""
    elements = parse(html)
    splices = Splices()
    equations = 0
    for element in elements:
        classes = element.classes
        if "highlight-ipynb" in classes:
            label = f"Code cell {_cell_number(elements, element)}"
            splices.set_attributes(html, element, _group(label))
        elif _is_equation(element):
            equations += 1
            names = " ".join(sorted(classes | {DISPLAY_MATH}))
            splices.set_attributes(
                html, element, {**_group(f"Equation {equations}"), "class": names}
            )
        elif "tabindex" not in element.attrs:
            continue
        elif "jp-Cell-inputWrapper" in classes:
            splices.set_attributes(html, element, {"tabindex": None})
        elif "jp-OutputArea-output" in classes:
            label = f"Output of cell {_cell_number(elements, element)}"
            splices.set_attributes(html, element, {"role": "group", "aria-label": label})
    return splices.apply(html)


def _group(label: str) -> dict[str, str | None]:
    return {"tabindex": "0", "role": "group", "aria-label": label}


def _is_equation(element: Element) -> bool:
    """A markdown cell's paragraph that is one $$…$$ equation (KaTeX typesets it)."""
    text = element.text()
    return (
        element.name == "p"
        and text.startswith("$$")
        and text.endswith("$$")
        and element.within(lambda e: "jp-RenderedMarkdown" in e.classes) is not None
    )


def _cell_number(elements: list[Element], element: Element) -> str:
    """The execution count of the notebook cell holding `element`, from its "In [n]:"."""
    cell = _cell(element)
    if cell is None:
        return "?"
    for other in elements:
        if "jp-InputPrompt" in other.classes and _cell(other) is cell:
            found = re.search(r"\[(\d+)\]", other.text())
            if found:
                return found.group(1)
    return "?"


def _cell(element: Element) -> Element | None:
    return element.within(lambda e: "jp-Cell" in e.classes and "id" in e.attrs)


def describe_images(html: str) -> str:
    """Replaces nbconvert's placeholder alt text with the markdown cell before the figure.

    Its heading and its text, math in plain symbols: "Samples and the latent map:
    Codes drawn from the prior N(0, I)…".
    """
    elements = parse(html)
    splices = Splices()
    markdown: Element | None = None
    for element in elements:
        if "jp-MarkdownCell" in element.classes:
            markdown = element
        elif element.name == "img" and element.attrs.get("alt") == NBCONVERT_PLACEHOLDER:
            description = _describe(elements, markdown) if markdown is not None else ""
            if not description:
                description = f"Figure drawn by notebook cell {_cell_number(elements, element)}"
            splices.set_attributes(html, element, {"alt": description})
    return splices.apply(html)


def _describe(elements: list[Element], cell: Element) -> str:
    parts = []
    for element in elements:
        if (
            element.name not in HEADINGS | {"p", "li"}
            or element.within(lambda e: e is cell) is None
        ):
            continue
        text = element.text().replace("¶", "").strip()
        parts.append(text + ":" if element.name in HEADINGS else text)
    return plain_math(" ".join(parts)).rstrip(":")
