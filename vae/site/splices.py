"""A page's HTML read once and changed in place, by the offsets of its text.

`parse` reads a page with the standard library's parser into `Element`s, each
located by the offsets of its tags in the page's text, with its parent and its
text content. `Splices` collects changes given by those offsets (a start tag
rewritten, text inserted, a span replaced) and applies them together, so that
what no change touches stays byte for byte as it was. The accessibility repairs
(`vae.site.html`) and the notebook page's (`vae.site.notebook_html`) are made
this way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())


@dataclass(eq=False)
class Element:
    """One element of a parsed page, located by offsets into the page's text."""

    name: str
    attrs: dict[str, str | None]
    start: int  # offset of the "<" of its start tag
    end: int  # offset just past the ">" of its start tag
    parent: Element | None
    close: int | None = None  # offset of the "<" of its end tag, when it has one
    pieces: list[str] = field(default_factory=list, repr=False)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        """Its text content, with runs of white space made one space."""
        return " ".join("".join(self.pieces).split())

    def within(self, test: Callable[[Element], bool]) -> Element | None:
        """The nearest ancestor for which `test` holds."""
        node = self.parent
        while node is not None and not test(node):
            node = node.parent
        return node


class _Parser(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.open[-1] if self.open else None
        element = Element(tag, dict(attrs), start, start + len(raw), parent)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i].name == tag:
                self.open[i].close = self._offset()
                del self.open[i:]
                return

    def handle_data(self, data):
        if self.open and self.open[-1].name in ("script", "style"):
            return
        for element in self.open:
            element.pieces.append(data)


def parse(html: str) -> list[Element]:
    """Every element of `html`, in document order."""
    parser = _Parser(html)
    parser.feed(html)
    parser.close()
    return parser.elements


def end_of_close(html: str, element: Element) -> int:
    """The offset just past an element's end tag (or its start tag, if it has none)."""
    if element.close is None:
        return element.end
    return html.index(">", element.close) + 1


class Splices:
    """Changes to a text, given by the offsets of the original, applied at once."""

    def __init__(self) -> None:
        self.changes: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, text: str) -> None:
        self.changes.append((start, end, text))

    def insert(self, at: int, text: str) -> None:
        self.changes.append((at, at, text))

    def set_attributes(self, html: str, element: Element, values: dict[str, str | None]) -> None:
        """Rewrites the element's start tag with these attributes set (None: removed)."""
        attrs = {**element.attrs, **values}
        attrs = {
            name: value for name, value in attrs.items() if name not in values or value is not None
        }
        self_closing = html[element.start : element.end].endswith("/>")
        self.replace(element.start, element.end, start_tag(element.name, attrs, self_closing))

    def apply(self, html: str) -> str:
        out, position = [], 0
        for start, end, text in sorted(self.changes, key=lambda c: (c[0], c[1])):
            if start < position:
                raise ValueError(f"overlapping changes at offset {start}")
            out += [html[position:start], text]
            position = end
        out.append(html[position:])
        return "".join(out)


def start_tag(name: str, attrs: dict[str, str | None], self_closing: bool = False) -> str:
    parts = [name] + [k if v is None else f'{k}="{escape(v)}"' for k, v in attrs.items()]
    return "<" + " ".join(parts) + (" />" if self_closing else ">")
