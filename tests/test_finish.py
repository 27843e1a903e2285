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


def test_plain_names_lose_their_span_and_nothing_else_does():
    from vae.site.pages import plain_names

    code = (
        '<pre><code><span class="n">model</span><span class="o">.</span>'
        '<span class="n">encode</span><span class="p">(</span><span class="nb">len</span>'
        '<span class="p">)</span></code></pre>'
    )
    assert plain_names(code) == (
        '<pre><code>model<span class="o">.</span>encode<span class="p">(</span>'
        '<span class="nb">len</span><span class="p">)</span></code></pre>'
    )
