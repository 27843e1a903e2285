"""Reading a page into located elements, and changing it by their offsets."""

import pytest

from vae.site.splices import Splices, end_of_close, parse


def test_parse_locates_each_element_by_offsets_with_its_text_and_parent():
    text = '<div id="a">\n  <p class="x y">one <b>two</b></p><img src="i.png"><br/>\n</div>'
    div, p, b, img, br = parse(text)
    assert text[p.start : p.end] == '<p class="x y">'
    assert text[p.close :].startswith("</p>")
    assert end_of_close(text, p) == text.index("</p>") + len("</p>")
    assert p.classes == {"x", "y"} and p.text() == "one two" and b.parent is p
    assert img.parent is div and img.close is None and br.parent is div
    assert text[img.start : img.end] == '<img src="i.png">'


def test_splices_rewrite_only_the_tags_they_change():
    text = '<p a="1" b>x</p><img src="i.png" alt="old" />'
    p, img = parse(text)
    splices = Splices()
    splices.set_attributes(text, p, {"a": None, "aria-label": 'say "hi"'})
    splices.set_attributes(text, img, {"alt": "new"})
    splices.insert(p.close, "!")
    assert (
        splices.apply(text)
        == '<p b aria-label="say &quot;hi&quot;">x!</p><img src="i.png" alt="new" />'
    )
    overlapping = Splices()
    overlapping.replace(0, 5, "")
    overlapping.replace(3, 8, "")
    with pytest.raises(ValueError, match="overlapping"):
        overlapping.apply(text)
