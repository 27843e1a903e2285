"""The words the figure scripts choose for the prose (`vae.words`), on constructed numbers."""

import pytest

from vae import words


def test_count_words_spells_out_counts_below_ten():
    assert [words.count_words(n) for n in (0, 1, 2, 9)] == ["no", "one", "two", "nine"]
    assert words.count_words(10) == "10" and words.count_words(23) == "23"
    assert all(isinstance(words.count_words(n), str) for n in range(30))


def test_place_words_count_the_peaks():
    place_words = words.place_words
    assert place_words("on", 2) == place_words("on", 3) == "sits on one of them"
    assert place_words("between", 2) == "sits between them, on neither"
    assert place_words("away", 2) == "sits away from both, on neither"
    assert place_words("between", 3) == "sits between the two highest, on none of them"
    assert place_words("away", 3) == "sits away from all of them"


@pytest.mark.parametrize(
    ("amortization", "start"),
    [
        (9.5, "nearly all of its shortfall is the encoder's"),
        (9.0, "nearly all of its shortfall is the encoder's"),
        (7.0, "most of its shortfall is the encoder's"),
        (6.0, "most of its shortfall is the encoder's"),
        (5.0, "its shortfall is about half the encoder's and half the Gaussian's"),
        (4.0, "most of its shortfall is the Gaussian's, not the encoder's"),
        (2.0, "most of its shortfall is the Gaussian's, not the encoder's"),
    ],
)
def test_shortfall_words_follow_the_share_of_the_amortization_gap(amortization, start):
    assert words.shortfall_words(amortization, 10.0).startswith(start)


def test_percent_keeps_two_significant_digits():
    percent = words.percent
    assert [percent(x) for x in (0.34, 0.0023, 0.05, 0.1, 0.999)] == [
        "34%",
        "0.23%",
        "5%",
        "10%",
        "100%",
    ]
    assert percent(9.4e-8) == "under 0.1%"


def test_verdict_ties_within_the_given_standard_errors():
    assert words.verdict(0.5, 0.3, ties=2) == "tied"
    assert words.verdict(-0.5, 0.3, ties=2) == "tied"
    assert words.verdict(0.7, 0.3, ties=2) == "ahead"
    assert words.verdict(-0.7, 0.3, ties=2) == "behind"
    assert words.verdict(0.5, 0.3, ties=1) == "ahead"


def test_elbo_verdict_joins_the_groups_that_have_models():
    verdict = words.elbo_verdict
    assert verdict({"ahead": ["A"], "tied": [], "behind": []}) == "the VAE is ahead of A"
    assert verdict({"ahead": ["A", "B"], "tied": [], "behind": ["C"]}) == (
        "the VAE is ahead of A and B and trails C"
    )
    assert verdict({"ahead": ["A"], "tied": ["B"], "behind": ["C"]}) == (
        "the VAE is ahead of A, ties B and trails C"
    )


def test_loss_places_names_each_class_only_when_they_differ():
    places = words.loss_places
    assert places(["1", "7"], [True, True]) == "Both of these classes lose their draws far out."
    both_inside = places(["1", "7"], [False, False])
    assert both_inside.startswith("Both of these classes lose their draws where")
    assert places(["1", "7"], [True, False]) == (
        'The "1"s lose their draws far out, the "7"s where the clouds of several classes pile up.'
    )
