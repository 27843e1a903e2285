"""Accessibility repairs to a built page's HTML, made after MkDocs renders it.

`accessible` reads a page once (`vae.site.splices.parse`), lets each repair
below add its changes to one set of splices and applies them together: what no
repair touches stays byte for byte as it was. The notebook page's own gaps are
repaired in `vae.site.notebook_html`.

- `name_search_dialog`: the theme's search dialog gets a name;
- `focusable_scroll_regions`: a code block, a table or a displayed equation,
  which may scroll sideways, can take keyboard focus and says what it is;
- `name_copy_buttons`: the theme's script puts each code block's copy button in
  an unnamed `<nav>`; a small script names each after its code block;
- `hanging_indents`: a wrapped line of code continues four columns past its own
  indentation (with pymdownx.highlight's `line_spans`, and extra.css);
- `space_after_caption_prefix`: "Figure 1. log p(x)", not "Figure 1.log p(x)".

`plain_math` says TeX in plain symbols, for the labels and alt text that hold math.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from vae.site.splices import HEADINGS, Element, Splices, end_of_close, parse, start_tag

TABLE_SCROLL = "vae-table-scroll"  # styled in docs/stylesheets/extra.css


# TeX as a screen reader should say it, in the few places the site needs math in
# an attribute (a label, alt text): commands become their symbols or are dropped.
_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "psi": "ψ", "omega": "ω", "Sigma": "Σ", "Phi": "Φ", "Delta": "Δ",
    "mid": "|", "sim": "~", "sum": "Σ", "prod": "Π", "int": "∫", "cdot": "·", "times": "×",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "approx": "≈", "neq": "≠", "infty": "∞",
    "in": "∈", "to": "→", "ldots": "…", "dots": "…", "partial": "∂", "nabla": "∇", "|": "‖",
}  # fmt: skip
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_FRACTION = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


def plain_math(text: str) -> str:
    """`text` with its TeX math ($…$, \\(…\\) and the display forms) in plain symbols."""

    def tex(match: re.Match) -> str:
        source = next(g for g in match.groups() if g is not None)
        source = _FRACTION.sub(r"\1/\2", source)
        source = _COMMAND.sub(lambda m: _TEX_SYMBOLS.get(m.group(1), _spoken(m.group(1))), source)
        return " ".join(source.replace("{", "").replace("}", "").split())

    return _MATH.sub(tex, text)


def _spoken(command: str) -> str:
    if command in (",", ";", ":", "!", " ", "quad", "qquad"):
        return " "
    if command in ("left", "right", "big", "Big", "bigl", "bigr", "displaystyle"):
        return ""
    if command.startswith(("math", "operatorname", "text", "boldsymbol")):
        return ""  # a font: its argument is what is said
    return command  # \log -> log


def _unique(labels: list[str]) -> list[str]:
    """The labels, with " (2)", " (3)"… added to repeats."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _heading_text(element: Element) -> str:
    return element.text().replace("¶", "").strip()


def _with_sections(
    elements: list[Element], test: Callable[[Element], bool]
) -> Iterator[tuple[Element, Element | None]]:
    """(element, the heading of its section) for each element passing `test`."""
    heading = None
    for element in elements:
        if element.name in HEADINGS:
            heading = element
        elif test(element):
            done = heading is not None and heading.close is not None
            yield element, heading if done and heading.close <= element.start else None


# A repair reads the page's text and its elements and adds its changes to the splices.
Repair = Callable[[str, list[Element], Splices], None]


def name_search_dialog(html: str, elements: list[Element], splices: Splices) -> None:
    """Names Material's search dialog, which it leaves without one."""
    for element in elements:
        attrs = element.attrs
        if (
            attrs.get("role") == "dialog"
            and attrs.get("data-md-component") == "search"
            and not ({"aria-label", "aria-labelledby"} & attrs.keys())
        ):
            splices.set_attributes(html, element, {"aria-label": "Search"})


def _is_code_block(element: Element) -> bool:
    return element.name == "code" and element.parent is not None and element.parent.name == "pre"


def _is_display_math(element: Element) -> bool:
    return element.name == "div" and "arithmatex" in element.classes


def _is_data_table(element: Element) -> bool:
    # Material wraps a table without a class in its own scrolling box; tables
    # with a class are styled (and scrolled, if at all) by whoever made them.
    return element.name == "table" and "class" not in element.attrs


def focusable_scroll_regions(html: str, elements: list[Element], splices: Splices) -> None:
    """Makes every box that may scroll sideways focusable and named.

    Code blocks and displayed equations become focusable groups named after
    their section or their place ("Code: The KL term", "Equation 2"); each table
    is wrapped in a focusable group that scrolls it (`vae-table-scroll`).
    """
    regions = list(_scroll_regions(elements))
    labels = _unique([label for _, label in regions])
    for (element, _), label in zip(regions, labels, strict=True):
        group = {"tabindex": "0", "role": "group", "aria-label": label}
        if _is_data_table(element):
            splices.insert(element.start, start_tag("div", {"class": TABLE_SCROLL, **group}))
            splices.insert(end_of_close(html, element), "</div>")
        else:
            splices.set_attributes(html, element, group)


def _scroll_regions(elements: list[Element]) -> Iterator[tuple[Element, str]]:
    """(element, its label) for each box that may scroll sideways."""
    equations = 0
    scrolls = (_is_code_block, _is_display_math, _is_data_table)
    for element, heading in _with_sections(elements, lambda e: any(t(e) for t in scrolls)):
        section = _heading_text(heading) if heading is not None else ""
        if _is_code_block(element):
            yield element, f"Code: {section}" if section else "Code"
        elif _is_display_math(element):
            equations += 1
            yield element, f"Equation {equations}"
        elif element.within(lambda e: TABLE_SCROLL in e.classes) is None:
            yield element, _table_label(elements, element, section)


def _table_label(elements: list[Element], table: Element, section: str) -> str:
    """'Table: ' and the short paragraph that introduces it, or its section's heading."""
    siblings = [e for e in elements if e.parent is table.parent and e.close is not None]
    before = [e for e in siblings if e.close <= table.start]
    intro = before[-1].text() if before and before[-1].name == "p" else ""
    intro = plain_math(intro).rstrip(":").strip()
    if not (intro and len(intro) <= 80):
        intro = ""
    if intro and section:
        return f"Table: {intro} ({section})"
    return f"Table: {intro or section}" if intro or section else "Table"


# Material's script adds, to each code block, a <nav> for its copy button; the
# several unnamed navigation landmarks this makes on a page cannot be told
# apart. This names each after its code block (see `focusable_scroll_regions`).
COPY_BUTTON_SCRIPT = """<script>
(function () {
  function name() {
    document.querySelectorAll("nav.md-code__nav:not([aria-label])").forEach(function (nav) {
      var code = nav.parentElement && nav.parentElement.querySelector("code[aria-label]");
      var label = code ? code.getAttribute("aria-label") : "Code";
      nav.setAttribute("aria-label", "Copy " + label.charAt(0).toLowerCase() + label.slice(1));
    });
  }
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def name_copy_buttons(html: str, elements: list[Element], splices: Splices) -> None:
    """Adds `COPY_BUTTON_SCRIPT` at the end of the body of a page with code blocks."""
    if COPY_BUTTON_SCRIPT in html or not any(_is_code_block(e) for e in elements):
        return
    body = next((e for e in elements if e.name == "body" and e.close is not None), None)
    if body is not None:
        splices.insert(body.close, COPY_BUTTON_SCRIPT + "\n")


def hanging_indents(html: str, elements: list[Element], splices: Splices) -> None:
    """Gives each indented line of a code block its indentation, as `--vae-indent`.

    extra.css indents the continuation of a wrapped line by that much and four
    columns more. Lines are the spans pymdownx.highlight's `line_spans` makes.
    """
    for element in elements:
        if (
            element.name == "span"
            and (element.attrs.get("id") or "").startswith("__span-")
            and element.parent is not None
            and _is_code_block(element.parent)
        ):
            line = "".join(element.pieces)
            indent = len(line) - len(line.lstrip(" "))
            if indent:
                splices.set_attributes(html, element, {"style": f"--vae-indent: {indent}ch"})


def space_after_caption_prefix(html: str, elements: list[Element], splices: Splices) -> None:
    """A space between a caption's "Figure N." and what follows, when that is markup.

    pymdownx's caption block adds the space only when the caption starts with text.
    """
    for element in elements:
        if "caption-prefix" in element.classes and element.close is not None:
            after = end_of_close(html, element)
            if html[after : after + 1] == "<":
                splices.insert(after, " ")


REPAIRS: tuple[Repair, ...] = (
    name_search_dialog,
    focusable_scroll_regions,
    name_copy_buttons,
    hanging_indents,
    space_after_caption_prefix,
)


def accessible(html: str, repairs: Iterable[Repair] = REPAIRS) -> str:
    """The page with `repairs` (all of this module's) applied, from one parse."""
    elements = parse(html)
    splices = Splices()
    for repair in repairs:
        repair(html, elements, splices)
    return splices.apply(html)
