"""The words the figure scripts choose for the prose (`vae.words`), on constructed numbers."""

import pytest

from vae import words


def test_count_words_spells_out_counts_below_ten():
    assert [words.count_words(n) for n in (0, 1, 2, 9)] == ["no", "one", "two", "nine"]
    assert words.count_words(10) == "10" and words.count_words(23) == "23"
    assert all(isinstance(words.count_words(n), str) for n in range(30))


DRAWN = (0.5, 0.9)  # the ellipses a figure draws: shares of the Gaussian


def test_place_words_count_the_peaks_when_the_ellipses_take_in_none():
    place_words = words.place_words
    # The ellipse through each peak holds these shares of the Gaussian: all above 90%.
    assert place_words("on", [0.01, 0.95], DRAWN) == "sits on one of them"
    assert place_words("on", [0.01, 0.95, 0.99], DRAWN) == "sits on one of them"
    assert place_words("between", [0.95, 0.96], DRAWN) == "sits between them, on neither"
    assert place_words("away", [0.95, 0.99], DRAWN) == "sits away from both"
    assert (
        place_words("between", [0.95, 0.96, 0.99], DRAWN)
        == "sits between the two highest, on none of them"
    )
    assert place_words("away", [0.95, 0.96, 0.99], DRAWN) == "sits away from all of them"


def test_place_words_name_the_smallest_drawn_ellipse_that_takes_in_a_peak():
    place_words = words.place_words
    # A centre off the peaks, with the second peak inside the 50% ellipse (the
    # encoder's q of the site's two-peaked digit), or only inside the 90% one.
    assert (
        place_words("away", [0.96, 0.48], DRAWN)
        == "is centred on neither, but its 50% ellipse takes in one of them"
    )
    assert (
        place_words("away", [0.96, 0.7], DRAWN)
        == "is centred on neither, but its 90% ellipse takes in one of them"
    )
    assert (
        place_words("between", [0.6, 0.7], DRAWN)
        == "is centred between them, but its 90% ellipse takes in both"
    )
    assert (
        place_words("away", [0.3, 0.4, 0.95], DRAWN)
        == "is centred on none of them, but its 50% ellipse takes in two of them"
    )
    # On a peak, the other peaks count: the one it sits on is always inside.
    assert (
        place_words("on", [0.01, 0.8], DRAWN)
        == "sits on one of them, its 90% ellipse taking in both"
    )


def test_place_words_say_the_density_only_off_the_peaks():
    place_words = words.place_words
    assert place_words("on", [0.01, 0.95], DRAWN, density=0.9) == "sits on one of them"
    assert place_words("away", [0.96, 0.48], DRAWN, density=0.0023) == (
        "is centred on neither, where the posterior's density is 0.23% of its highest,"
        " but its 50% ellipse takes in one of them"
    )
    assert place_words("away", [0.96, 0.99], DRAWN, density=0.0023) == (
        "sits away from both, where the posterior's density is 0.23% of its highest"
    )


@pytest.mark.parametrize(
    ("share", "phrase"),
    [
        (0.0, "do not overlap"),
        (1e-19, "do not overlap"),
        (0.009, "do not overlap"),
        (0.01, "barely overlap"),
        (0.19, "barely overlap"),
        (0.2, "overlap"),
        (0.99, "overlap"),
    ],
)
def test_overlap_words_follow_their_bounds(share, phrase):
    assert words.overlap_words(share) == phrase


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


@pytest.mark.parametrize(
    ("share", "word"),
    [
        (1.0, "nearly all"),
        (0.95, "nearly all"),
        (0.9, "most"),  # 4.76 of 5.26 nats is most, not nearly all
        (0.79, "most"),
        (0.5, "about half"),
        (0.26, "some"),  # a quarter of the time is not "seldom"
        (0.1, "few"),
        (0.01, "almost none"),
        (0.0, "almost none"),
    ],
)
def test_quantifier_follows_the_share(share, word):
    assert words.quantifier(share) == word


def test_counted_says_none_for_zero():
    assert [words.counted(n) for n in (0, 1, 3, 12)] == ["none", "one", "three", "12"]


@pytest.mark.parametrize(
    ("r", "strength", "reason"),
    [
        (-0.9, "a strong negative rank correlation", "the classes far out are the ones"),
        (-0.6, "a moderate negative rank correlation", "distance from the origin is part"),
        (-0.31, "a weak negative rank correlation", "distance from the origin alone does not"),
        (0.1, "no clear rank correlation", "distance from the origin alone does not"),
        (0.3, "a weak positive rank correlation", "distance from the origin alone does not"),
        (0.7, "a moderate positive rank correlation", "the classes far out, if anything, gain"),
    ],
)
def test_correlation_and_distance_words_follow_the_correlation(r, strength, reason):
    assert words.correlation_words(r) == strength
    assert words.distance_words(r).startswith(reason)


def test_trend_words_group_the_series_by_how_they_move():
    trend = words.trend_words
    assert trend({"A": [3, 2, 1], "B": [0.1, 0.0, 0.0], "C": [1, 2, 5]}) == (
        "A and B fall, and C rises"
    )
    assert trend({"A": [1, 2], "B": [2, 1], "C": [1, 3, 2], "D": [0, 0]}) == (
        "B falls, A rises, D does not change and C goes up and down"
    )
    assert trend({"A": [1, 2, 2]}) == "A rises"


def test_join_lists_with_commas_and_a_last_and():
    assert [words.join(x) for x in (["A"], ["A", "B"], ["A", "B", "C"])] == [
        "A",
        "A and B",
        "A, B and C",
    ]


def test_search_words_say_which_noise_levels_match_the_vae():
    search = words.search_words
    assert search({"a": "ahead", "b": "ahead"}).startswith("No ")
    assert search({"a": "ahead", "b": "tied", "c": "behind"}) == (
        "So a good σ₀ exists: b ties the VAE on the ELBO and c beats it."
    )
    assert search({"a": "behind", "b": "behind"}) == (
        "So a good σ₀ exists: a and b beat the VAE on the ELBO."
    )
    assert search({"a": "tied", "b": "tied"}).endswith("a and b tie the VAE on the ELBO.")


def test_crossing_words_name_the_decoders_that_stray():
    crossing = words.crossing_words
    assert crossing({"autoencoder": 0, "VAE": 0}).startswith(
        "Along the line, neither decoder breaks down"
    )
    assert crossing({"autoencoder": 3, "VAE": 0}).startswith(
        "Along the line, the autoencoder's decoder strays"
    )
    assert "the autoencoder's and the VAE's decoders stray" in crossing(
        {"autoencoder": 1, "VAE": 2}
    )


def test_holes_words_read_from_the_noise_levels_side():
    # `verdict` on (the noise level's holes - the VAE's): more holes is "ahead".
    assert words.HOLES_VERSUS_VAE[words.verdict(0.06, 0.01, 2)].endswith("more holes than the VAE")
    assert words.HOLES_VERSUS_VAE[words.verdict(-0.04, 0.01, 2)].endswith(
        "fewer holes than the VAE"
    )
    assert "about as many" in words.HOLES_VERSUS_VAE[words.verdict(0.01, 0.01, 2)]


def test_compare_words_follow_the_verdict():
    assert words.compare_words(3.0, 1.0) == "above"
    assert words.compare_words(-3.0, 1.0) == "below"
    assert words.compare_words(1.5, 1.0) == "level with"
    assert words.compare_words(1.5, 1.0, ties=1.0, higher="wider than") == "wider than"


def script(name):
    """A figure script as a module, for the word rules it keeps to itself."""
    import importlib.util

    from .conftest import REPO

    spec = importlib.util.spec_from_file_location(f"words_{name}", REPO / "figures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gaps_change_between_training_and_test_digits_in_one_sentence():
    growth = words.gap_growth_words
    assert growth("tied", "tied").startswith("Neither part of the gap")
    assert growth("tied", "ahead") == (
        "The approximation gap is the same on both, within twice the standard error of "
        "the difference, while the amortization gap is larger on the test digits"
    )
    said = growth("behind", "tied")
    assert said.startswith("The amortization gap is the same")
    assert "approximation gap is smaller" in said
    assert growth("ahead", "behind") == (
        "The approximation gap is larger on the test digits and the amortization gap is "
        "smaller on the test digits"
    )


def test_an_snr_factor_is_read_against_the_theory_in_its_own_direction():
    theory = script("iwae_snr").theory_words
    root50 = 50**0.5
    assert theory(7.4, root50, rises=True) == "close to the theory's"  # the decoder
    assert theory(1 / 3.45, root50, rises=False) == "smaller than the theory's"  # the encoder
    assert theory(1 / 12, root50, rises=False) == "larger than the theory's"
    assert theory(2.0, root50, rises=False) == "the other way from the theory's"


def test_how_far_out_a_code_lies_and_its_spread_need_a_clear_correlation():
    radius = script("latent_maps").radius_words
    assert radius(0.07).startswith("A code's cloud is no broader or narrower")
    assert radius(-0.19).startswith("A code's cloud is no broader")
    assert radius(0.35) == "Codes far from the origin tend to get broader clouds"
    assert radius(-0.6) == "Codes far from the origin tend to get narrower clouds"


def test_the_grid_s_outer_ring_names_the_classes_whose_codes_fall_there():
    outer = script("manifold").outer_words
    names = [str(c) for c in range(10)]
    assert outer(0.0, [], names) == "none of the test digits' codes fall there"
    assert outer(0.012, [1] * 6, names) == 'all of them "1"s'.join(
        ["1.2% of the test digits' codes fall there, ", ""]
    )
    assert outer(0.01, [1, 1, 7], names).endswith('most of them "1"s')
    assert outer(0.01, [1, 7, 0, 0], names).endswith('among them "0"s, "7"s and "1"s')
    assert outer(0.01, [1, 7, 0, 2, 3, 3], names).endswith("and others")


def test_overfitting_is_claimed_only_for_differences_past_twice_their_error():
    overfit = script("iwae_bound").overfit_words
    assert "neither difference" in overfit({"20-D VAE": "tied", "2-D VAE": "tied"})
    assert overfit({"20-D VAE": "ahead", "2-D VAE": "tied"}) == (
        "; only the 20-D VAE's is more than twice its standard error"
    )
    assert overfit({"20-D VAE": "ahead", "2-D VAE": "ahead"}).startswith(", each")


def test_ordinals_are_words_to_the_tenth_then_digits_with_their_suffix():
    assert [words.ordinal(n) for n in (1, 2, 3, 5, 10)] == [
        "first", "second", "third", "fifth", "tenth",
    ]  # fmt: skip
    assert [words.ordinal(n) for n in (11, 12, 13, 21, 22, 23, 25, 101, 112)] == [
        "11th", "12th", "13th", "21st", "22nd", "23rd", "25th", "101st", "112th",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="from one"):
        words.ordinal(0)
    assert words.every_words(1, "test digit") == "every test digit"
    assert words.every_words(5, "one") == "every fifth one"
    assert words.every_words(25, "one") == "every 25th one"


def test_the_richer_families_and_cremer_s_adaptation():
    cremer = script("extension_scores").cremer_words
    level = {"full-covariance q": "level with", "flow q": "level with"}
    assert cremer(level) == "neither rises measurably above the VAE's"
    one = cremer({"full-covariance q": "above", "flow q": "level with"})
    assert one == "the full-covariance q model's gap rises but the flow q model's does not"
    both = cremer({"full-covariance q": "marginally above", "flow q": "marginally above"})
    assert both == "the full-covariance q and the flow q model's gap rises, marginally,"


def test_a_diagonal_q_model_that_moves_the_gap_leaves_the_adaptation_open():
    diagonal = script("extension_scores").diagonal_words
    moved = {"vamp": "above", "hier": "level with"}
    assert diagonal(moved, risen=False).endswith("can neither show nor rule out that adaptation")
    assert diagonal({"vamp": "marginally below", "hier": "level with"}, risen=True).endswith(
        "a rise alone is no clear sign of that adaptation"
    )
    still = {"vamp": "level with", "hier": "level with"}
    assert diagonal(still, risen=True).startswith("so only a richer family moves it")
    assert diagonal(still, risen=False).endswith("no sign of that adaptation")


def test_the_learned_sigma_s_step_budget_against_the_move_it_needs():
    reach = script("sigma_vae").reach_words
    assert reach(0.3, 0.39) == "less than"
    assert reach(0.43, 0.39) == "barely more than"
    assert reach(2.0, 0.39) == "more than"


def test_the_codes_spread_against_the_prior_s_own_draws():
    spread = script("two_stage").spread_words
    own = -28.38
    assert spread(-29.8, own) == "within 10 % of"
    assert spread(-60.0, own) == "far below"
    assert spread(-20.0, own) == "above"
