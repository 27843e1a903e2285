"""Part 1's sentences that compare numbers, read on the built page (quick
profile): every word there that follows from a number is the one `vae.words`
chooses from the number the page shows beside it, and q(z) is the mixture of
all the training digits, not of the test digits."""

import html
import json
import re

import pytest

from vae import words
from vae.data import load_dataset
from vae.site.context import NUMBERS, WORDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(built_site):
    """(the page's text without markup, aggregate_posterior's values, interpolation's)."""
    root, _ = built_site
    text = (root / "site" / "autoencoders" / "index.html").read_text()
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))
    values = {}
    for name in ("aggregate_posterior", "interpolation"):
        directory = root / "cache" / "quick" / "figures" / name
        values[name] = {
            **json.loads((directory / NUMBERS).read_text()),
            **json.loads((directory / WORDS).read_text()),
        }
    return text, values["aggregate_posterior"], values["interpolation"]


def test_q_is_the_mixture_of_every_training_digit(page):
    text, aggregate, _ = page
    assert aggregate["q_examples"] == len(load_dataset("mnist5k").train_labels)
    assert f"Here \\(N\\) is all {aggregate['q_examples']:,} training digits" in text
    assert f"over the {aggregate['q_examples']:,} training digits" in text


def test_how_often_noise_carries_a_code_to_another_digit_is_worded_from_the_share(page):
    text, aggregate, _ = page
    for key in ("sigma_0_05", "sigma_1"):
        share = aggregate[f"{key}_nearer_another"]
        assert aggregate[f"{key}_nearer_another_words"] == words.quantifier(share)
        assert f"{words.quantifier(share)} of the noisy codes" in text
        assert f"({share:.0%}) lie nearer another digit's centre" in text


def test_the_noise_levels_are_compared_with_the_vae_in_words_from_the_numbers(page):
    text, aggregate, _ = page
    verdicts = {}
    for key, sigma in (("sigma_0_05", 0.05), ("sigma_0_2", 0.2), ("sigma_1", 1.0)):
        which = words.verdict(
            aggregate[f"{key}_elbo_below_vae"],
            aggregate[f"{key}_elbo_below_vae_se"],
            aggregate["tie_ses"],
        )
        assert aggregate[f"{key}_versus_vae"] == words.VERDICT_WORDS[which]
        verdicts[f"σ₀ = {sigma:g}"] = which
    assert aggregate["search"] == words.search_words(verdicts)
    assert aggregate["search"] in text
    for key in ("sigma_0_05", "sigma_0_2"):
        said = aggregate[f"{key}_holes_versus_vae"]
        more = aggregate[f"{key}_holes"] - aggregate["vae_holes"]
        assert ("more" not in said or more > 0) and ("fewer" not in said or more < 0)
        assert said in text
    assert "no choice works" not in text


def test_distance_from_the_origin_is_worded_from_its_correlation_with_the_draws(page):
    text, aggregate, _ = page
    r = aggregate["distance_draws_correlation"]
    assert -1.0 <= r <= 1.0
    sentence = f"{words.correlation_words(r)} ({r:.2f}), so {words.distance_words(r)}."
    assert sentence in text


def test_the_interpolation_measure_does_not_follow_ink_and_its_verdict_follows_it(page):
    text, _, interpolation = page
    assert abs(interpolation["cosine_ink_correlation"]) < abs(interpolation["rms_ink_correlation"])
    beyond = {
        title: 0 if interpolation[f"{key}_beyond"] == "none" else 1
        for key, title in (("ae_2d", "autoencoder"), ("vae_2d", "VAE"))
    }
    assert interpolation["crossing"].startswith(words.crossing_words(beyond)[:40])
    assert interpolation["crossing"] in text
    assert 0.0 < interpolation["crossing_ratio"] < 1.0
