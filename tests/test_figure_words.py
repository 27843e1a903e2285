"""The words the figure scripts compute for the prose, on constructed inputs."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from vae.exact import GridPosterior

FIGURES = Path(__file__).resolve().parent.parent / "figures"


def script(name):
    spec = importlib.util.spec_from_file_location(name, FIGURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def two_peaks():
    """A posterior on a grid: an even mixture of N((-1, 0), 0.3^2 I) and N((1, 0), 0.3^2 I)."""
    step = 0.05
    axis = torch.arange(-3, 3 + step / 2, step, dtype=torch.float64)
    z = torch.cartesian_prod(axis, axis)  # (P, 2)
    log_parts = torch.stack(
        [-((z - torch.tensor([c, 0.0])).square().sum(1)) / (2 * 0.3**2) for c in (-1.0, 1.0)]
    )
    log_density = torch.logsumexp(log_parts, 0) - math.log(2 * 2 * math.pi * 0.3**2)
    return GridPosterior(
        log_px=torch.zeros(1, dtype=torch.float64),
        z=z[None],
        log_joint=log_density[None],
        step=step,
        mass=torch.ones(1, dtype=torch.float64),
    )


def test_place_says_on_a_peak_between_or_away(two_peaks):
    exact_posterior = script("exact_posterior")
    assert exact_posterior.peaks(two_peaks, 0) == 2
    place = exact_posterior.place
    assert place(two_peaks, 0, [-1.0, 0.0]) == "on"
    assert place(two_peaks, 0, [1.02, 0.05]) == "on"
    assert place(two_peaks, 0, [0.0, 0.1]) == "between"
    assert place(two_peaks, 0, [0.0, 2.0]) == "away"  # over the segment, but far from it
    assert place(two_peaks, 0, [2.5, 0.0]) == "away"  # on the line, past a peak's foot


def test_place_words_count_the_peaks():
    words = script("exact_posterior").place_words
    assert words("on", 2) == words("on", 3) == "sits on one of them"
    assert words("between", 2) == "sits between them, on neither"
    assert words("away", 2) == "sits away from both, on neither"
    assert words("between", 3) == "sits between the two highest, on none of them"
    assert words("away", 3) == "sits away from all of them"


def test_shortfall_words_follow_the_share_of_the_amortization_gap():
    words = script("exact_posterior").shortfall_words
    assert words(9.5, 10.0).startswith("nearly all of its shortfall is the encoder's")
    assert words(7.0, 10.0).startswith("most of its shortfall is the encoder's")
    assert words(5.0, 10.0) == "its shortfall is about half the encoder's and half the Gaussian's"
    assert words(2.0, 10.0) == "most of its shortfall is the Gaussian's, not the encoder's"


def test_loss_places_names_each_class_only_when_they_differ():
    places = script("aggregate_posterior").loss_places
    assert places(["1", "7"], [True, True]) == "Both of these classes lose their draws far out."
    both_inside = places(["1", "7"], [False, False])
    assert both_inside.startswith("Both of these classes lose their draws where")
    assert places(["1", "7"], [True, False]) == (
        'The "1"s lose their draws far out, the "7"s where the clouds of several classes pile up.'
    )


def test_percent_keeps_two_significant_digits():
    percent = script("exact_posterior").percent
    assert [percent(x) for x in (0.34, 0.0023, 0.05, 0.1)] == ["34%", "0.23%", "5%", "10%"]
    assert percent(9.4e-8) == "under 0.1%"
