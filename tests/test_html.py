"""The accessibility repairs to built pages: each on a small page, and the whole
set leaving alone what it does not repair."""

from vae.site.html import (
    COPY_BUTTON_SCRIPT,
    accessible,
    focusable_scroll_regions,
    hanging_indents,
    name_copy_buttons,
    name_search_dialog,
    plain_math,
    space_after_caption_prefix,
)


def page(body: str) -> str:
    return f"<!doctype html>\n<html><head><title>t</title></head>\n<body>\n{body}\n</body></html>"


def only(repair, text: str) -> str:
    """The page with this one repair made."""
    return accessible(text, [repair])


def test_plain_math_says_tex_in_symbols():
    assert (
        plain_math(r"prior $\mathcal{N}(0, I)$ and $q(z \mid x)$.") == "prior N(0, I) and q(z | x)."
    )
    assert plain_math(r"\(\tfrac{1}{2} \sum_j \mu_j^2\)") == "1/2 Σ_j μ_j^2"
    assert plain_math(r"\[\log p_\theta(x) \ge \mathrm{ELBO}\]") == "log p_θ(x) ≥ ELBO"
    assert plain_math("no math here: x < 1") == "no math here: x < 1"


def test_the_search_dialog_gets_a_name_once():
    text = page('<div class="md-search" data-md-component="search" role="dialog">x</div>')
    named = only(name_search_dialog, text)
    assert 'role="dialog" aria-label="Search"' in named
    assert only(name_search_dialog, named) == named


def test_code_blocks_and_equations_become_named_focusable_groups():
    text = page(
        '<h2 id="k">The KL term<a class="headerlink" href="#k">¶</a></h2>'
        '<div class="highlight"><pre><span></span><code>a = 1\n</code></pre></div>'
        '<div class="highlight"><pre><span></span><code>b = 2\n</code></pre></div>'
        '<div class="arithmatex">\\[x\\]</div><p>text <code>inline</code></p>'
        '<div class="arithmatex">\\[y\\]</div>'
    )
    out = only(focusable_scroll_regions, text)
    assert '<code tabindex="0" role="group" aria-label="Code: The KL term">a = 1' in out
    assert 'aria-label="Code: The KL term (2)">b = 2' in out
    assert '<div class="arithmatex" tabindex="0" role="group" aria-label="Equation 1">' in out
    assert 'aria-label="Equation 2"' in out
    assert "<code>inline</code>" in out  # inline code does not scroll


def test_a_table_is_wrapped_in_a_named_focusable_group():
    text = page(
        '<h3 id="f">gaussian_kl</h3><p><span class="doc-section-title">Parameters:</span></p>'
        "<table><tr><td>mu</td></tr></table>"
        "<p>A long paragraph before the next table, long enough that it cannot name it "
        "in a few words, so the section does.</p><table><tr><td>2</td></tr></table>"
        '<table class="other"><tr><td>3</td></tr></table>'
    )
    out = only(focusable_scroll_regions, text)
    wrapper = '<div class="vae-table-scroll" tabindex="0" role="group" aria-label="{}">'
    assert wrapper.format("Table: Parameters (gaussian_kl)") + "<table><tr><td>mu" in out
    assert wrapper.format("Table: gaussian_kl") + "<table><tr><td>2</td></tr></table></div>" in out
    assert '<table class="other">' in out and out.count("vae-table-scroll") == 2
    assert only(focusable_scroll_regions, out) == out  # not wrapped twice


def test_copy_buttons_are_named_on_pages_with_code_blocks_only():
    with_code = page("<pre><code>x</code></pre>")
    out = only(name_copy_buttons, with_code)
    assert out.endswith("</pre>\n" + COPY_BUTTON_SCRIPT + "\n</body></html>")
    assert only(name_copy_buttons, out) == out
    without = page("<p><code>x</code></p>")
    assert only(name_copy_buttons, without) == without


def test_wrapped_lines_of_code_hang_from_their_own_indentation():
    text = page(
        '<pre><code><span id="__span-0-1"><a id="__codelineno-0-1"></a>def f():\n</span>'
        '<span id="__span-0-2">    <span class="k">return</span> 1\n</span></code></pre>'
    )
    out = only(hanging_indents, text)
    assert '<span id="__span-0-1"><a' in out
    assert '<span id="__span-0-2" style="--vae-indent: 4ch">    <span class="k">' in out


def test_a_caption_starting_with_math_keeps_its_space():
    text = page(
        '<figcaption><p><span class="caption-prefix">Figure 1.</span><span class="arithmatex">'
        "\\(\\log p(x)\\)</span>, the ELBO.</p></figcaption>"
        '<figcaption><p><span class="caption-prefix">Figure 2.</span> Text.</p></figcaption>'
    )
    out = only(space_after_caption_prefix, text)
    assert 'Figure 1.</span> <span class="arithmatex">' in out
    assert "Figure 2.</span> Text." in out and "Figure 2.</span>  " not in out
    assert only(space_after_caption_prefix, out) == out


def test_a_page_with_nothing_to_repair_is_left_byte_for_byte():
    text = page('<p class="x">Plain <a href="a/">text</a> &amp; an <img src="i.png" alt="A">.</p>')
    assert accessible(text) == text


def test_repairing_twice_changes_nothing_more():
    text = page(
        '<h2 id="a">A</h2><p>Intro:</p><table><tr><td>1</td></tr></table>'
        '<pre><code><span id="__span-0-1">  x\n</span></code></pre>'
        '<div class="md-search" data-md-component="search" role="dialog"></div>'
        '<figcaption><p><span class="caption-prefix">Figure 1.</span><em>x</em></p></figcaption>'
    )
    once = accessible(text)
    assert once != text and accessible(once) == once
