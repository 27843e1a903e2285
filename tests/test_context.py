"""What a figure script records (`vae.site.context`): numbers keep their type
from build to build, and words are plain text."""

import pytest

from vae.errors import VAEError
from vae.site.context import FigureContext
from vae.site.project import FigureScript, Project


@pytest.fixture
def ctx(tmp_path):
    script = FigureScript("scores", tmp_path / "figures" / "scores.py", "results.md")
    return FigureContext(script, Project(tmp_path, "quick", cache=tmp_path / "cache"))


def test_words_are_recorded_as_given(ctx):
    ctx.words("verdict", "σ₀ = 0.2 ties the VAE ‖ and more")
    assert ctx.recorded_words == {"verdict": "σ₀ = 0.2 ties the VAE ‖ and more"}


@pytest.mark.parametrize("text", [r"ahead of \(\sigma_0 = 1\)", r"\[x\]", "$$x$$"])
def test_words_holding_tex_math_are_refused(ctx, text):
    """Words reach the page after its math was found, so TeX would show as source."""
    with pytest.raises(VAEError, match="TeX math"):
        ctx.words("verdict", text)


def test_numbers_are_ints_or_floats_and_words_are_strings(ctx):
    ctx.number("digits", 500)
    with pytest.raises(VAEError):
        ctx.words("digits_word", 500)
