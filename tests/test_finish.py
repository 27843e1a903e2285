"""The cache of finished pages: the same page as finishing it afresh, read back
when the rendered page repeats, redone when the finishing code changes, and
holding only the last build's pages."""

import pytest

from vae.site import finish as finish_module
from vae.site.finish import PageCache, finish

PAGE = """<!doctype html>
<html><head><title>t</title></head>
<body>
<div class="md-search" data-md-component="search" role="dialog"></div>
<h2>Code</h2>
<pre><code>x = 1</code></pre>
<figure><img src="figures/a/b.svg" alt="a"></figure>
</body></html>"""


def test_a_cached_page_is_the_page_finished_afresh_and_is_read_back(tmp_path, monkeypatch):
    cache = PageCache(tmp_path)
    first = cache.finish(PAGE, notebook=False)
    assert first == finish(PAGE, notebook=False) != PAGE
    assert 'aria-label="Search"' in first and 'loading="lazy"' in first

    def refuse(*args):
        raise AssertionError("finished again")

    monkeypatch.setattr(finish_module, "finish", refuse)
    again = PageCache(tmp_path)
    assert again.finish(PAGE, notebook=False) == first
    with pytest.raises(AssertionError, match="finished again"):
        again.finish(PAGE + "<!-- changed -->", notebook=False)


def test_new_finishing_code_finishes_the_page_again(tmp_path, monkeypatch):
    PageCache(tmp_path).finish(PAGE, notebook=False)
    monkeypatch.setattr(finish_module, "FINISHERS", ("html.py",))  # other code, other key
    calls = []
    monkeypatch.setattr(finish_module, "finish", lambda out, nb: calls.append(out) or out)
    PageCache(tmp_path).finish(PAGE, notebook=False)
    assert calls == [PAGE]


def test_the_cache_keeps_only_the_last_builds_pages(tmp_path):
    first = PageCache(tmp_path)
    first.finish(PAGE, notebook=False)
    first.finish(PAGE.replace("x = 1", "x = 2"), notebook=False)
    assert len(list(tmp_path.glob("*.html"))) == 2
    second = PageCache(tmp_path)
    second.finish(PAGE, notebook=False)
    second.prune()
    assert [p.name for p in tmp_path.glob("*.html")] == sorted(second.used)
    assert not list(tmp_path.glob(".*.partial"))


# Classes the theme gives the string colour, and the tokens meant to lose their span.
STRING = {"s", "s1", "s2", "sb", "sc", "si", "ss"}
PLAIN = {"n", "w", "p", "o"}


def colour(token_class: str) -> str:
    """What decides a character's colour: its token class, strings as one, plain as none."""
    return "" if token_class in PLAIN else "string" if token_class in STRING else token_class


def colours(html: str) -> list[tuple[str, str]]:
    """(character, class of its innermost span) for every character of the code."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack, self.out = [""], []

        def handle_starttag(self, tag, attrs):
            self.stack.append(
                dict(attrs).get("class", self.stack[-1]) if tag == "span" else self.stack[-1]
            )

        def handle_endtag(self, tag):
            self.stack.pop()

        def handle_data(self, data):
            self.out += [(ch, self.stack[-1]) for ch in data]

    reader = Reader()
    reader.feed(html)
    return reader.out


def test_plain_code_keeps_the_text_and_every_colour_but_the_plain_tokens():
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    from vae.site.pages import plain_code

    source = (
        "def words(ctx, k: int = 3) -> str:\n"
        '    """A docstring."""\n'
        '    x = ctx.number("gap", 1.5e-3 * k)  # a comment\n'
        "    return f\"{x!r} and {len(ctx)}\" if k in (1, 2) else 'none'\n"
    )
    html = highlight(source, PythonLexer(), HtmlFormatter())
    before, after = colours(html), colours(plain_code(html))
    assert "".join(ch for ch, _ in after) == "".join(ch for ch, _ in before)
    assert [colour(c) for _, c in after] == [colour(c) for _, c in before]
    assert not PLAIN & {c for _, c in after}
    assert {"k", "s2", "si", "mf", "c1", "nf", "nb", "sd"} <= {c for _, c in after}
    assert plain_code(html).count('<span class="s') < html.count('<span class="s')  # runs joined
    assert len(plain_code(html)) < 0.6 * len(html)
