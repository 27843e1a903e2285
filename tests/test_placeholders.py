"""The number channel: values from the figures go into the rendered page as
text, wherever the placeholder stands, and a placeholder that names nothing
is reported with its page and line."""

import json
import logging

import markdown
import pytest

from vae.site import placeholders
from vae.site.placeholders import format_number

# The extensions of mkdocs.yml that could turn a value into markup.
EXTENSIONS = ["tables", "attr_list", "md_in_html", "footnotes", "pymdownx.arithmatex"]


@pytest.fixture
def figures_out(tmp_path):
    (tmp_path / "scores").mkdir()
    numbers = {"examples": 500, "elbo": -199.94216, "share": 0.5}
    (tmp_path / "scores" / "numbers.json").write_text(json.dumps(numbers))
    words = {"verdict": "ties <the> VAE & more", "place": "1. first"}
    (tmp_path / "scores" / "words.json").write_text(json.dumps(words))
    return tmp_path


def render(text, figures_out, page="page.md"):
    settings = {"figures_out": str(figures_out), "page": page}
    md = markdown.Markdown(
        extensions=[*EXTENSIONS, "vae.site.placeholders"],
        extension_configs={
            "vae.site.placeholders": settings,
            "pymdownx.arithmatex": {"generic": True},
        },
    )
    return md.convert(text)


def test_a_number_at_the_start_of_a_line_stays_in_its_sentence(figures_out):
    text = (
        "- **Evaluation**: here k = 1000 on\n"
        "{{ scores.examples }}. A smaller k.\n"
        "- **Next**: bold\n"
    )
    html = render(text, figures_out)
    assert "<ol" not in html
    assert "on\n500. A smaller k." in html
    assert html.count("<li>") == 2 and "<strong>Next</strong>" in html


def test_a_value_after_a_list_marker_in_a_table_and_in_math(figures_out):
    text = (
        "1. {{ scores.examples }} digits\n\n"
        "| model | ELBO |\n| --- | --- |\n| VAE | {{ scores.elbo }} |\n\n"
        "The bound \\({{ scores.elbo:.1f }} \\le 0\\) holds.\n\n"
        "{{ scores.place }} is words.\n"
    )
    html = render(text, figures_out)
    assert "<li>500 digits</li>" in html
    assert "<td>-199.94</td>" in html
    assert '<span class="arithmatex">\\(-199.9 \\le 0\\)</span>' in html
    assert "<p>1. first is words.</p>" in html  # words that look like a list stay text


def test_words_are_escaped_text_and_take_no_format(figures_out, caplog):
    html = render("It {{ scores.verdict }}.\n\n![alt {{ scores.verdict }}](x.svg)\n", figures_out)
    assert "It ties &lt;the&gt; VAE &amp; more." in html
    assert 'alt="alt ties &lt;the&gt; VAE &amp; more"' in html
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        render("{{ scores.verdict:.2f }}\n", figures_out)
    assert "page.md:1: scores.verdict: bad format '.2f'" in caplog.text


@pytest.mark.parametrize(
    "source, message",
    [
        ("{{ latent-maps.all_examples }}", "is not a placeholder"),
        ("{{ scores.examples: .1f }}", "is not a placeholder"),
        ("{{ scores }}", "is not a placeholder"),
        ("{{ scores.nothing }}", "no value scores.nothing"),
        ("{{ other.examples }}", "no value other.examples"),
        ("{{ scores.examples:.2q }}", "bad format"),
    ],
)
def test_a_bad_placeholder_is_reported_with_page_and_line(figures_out, caplog, source, message):
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        html = render(f"Intro.\n\nSee {source} here.\n", figures_out, page="results.md")
    assert "results.md:3: " in caplog.text and message in caplog.text
    assert caplog.records[0].name.startswith("mkdocs.")  # counted by a strict build
    assert source.replace(">", "&gt;") in html  # left as it was, for the reader to see


def test_braces_in_code_are_left_alone(figures_out, caplog):
    text = (
        "```python\nf'{{ not.this }}'\n```\n\nInline `{{ nor this }}`, and {{ scores.examples }}.\n"
    )
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        html = render(text, figures_out)
    assert caplog.text == ""
    assert "{{ nor this }}" in html and "and 500." in html


@pytest.mark.parametrize(
    "value, spec, text",
    [
        (-199.94216, None, "-199.94"),
        (4500, None, "4,500"),
        (0.5, ".0%", "50%"),
        (3, ".1f", "3.0"),
        # a value that rounds to zero loses its sign
        (-0.0075, "+.1f", "0.0"),
        (0.004, "+.1f", "0.0"),
        (0.0, "+.1f", "+0.0"),
        (-0.004, None, "0.00"),
        (-0.001, ".0%", "0%"),
        (-0.05, ".1f", "-0.1"),
    ],
)
def test_number_formatting(value, spec, text):
    assert format_number(value, spec) == text


def test_values_come_only_from_current_scripts(tmp_path):
    for name in ("kept", "gone"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "numbers.json").write_text('{"a": 1}')
    assert placeholders.load_values(tmp_path, ["kept"]) == {"kept": {"a": 1}}


def test_a_value_in_a_heading_is_reported(figures_out, caplog):
    """The table of contents is made from the headings before the values go in."""
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        render("Intro.\n\n## {{ scores.examples }} digits\n", figures_out, page="a.md")
    assert "a.md:3: a heading cannot quote a value" in caplog.text
