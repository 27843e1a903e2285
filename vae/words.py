"""Numbers put into words for the article's prose.

A sentence that says "the VAE is ahead" or "the encoder's q sits between the
two peaks" is a claim about numbers a model produced; these functions choose
such words from the numbers, so that the prose follows a retrained model
instead of describing an old one. They are pure functions of numbers; the
figure scripts record what they return with `ctx.words`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ORDINAL_WORDS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
ORDINAL_WORDS += ("ninth", "tenth")
VERDICT_WORDS = {
    "ahead": "the VAE is ahead",
    "tied": "too little to tell the two apart",
    "behind": "the fixed noise comes out ahead",
}
# How a noise level compares with the VAE on holes, from `verdict` on the noise
# level's share of holes minus the VAE's.
HOLES_VERSUS_VAE = {
    "ahead": "leaves more holes than the VAE",
    "tied": "leaves about as many holes as the VAE",
    "behind": "leaves fewer holes than the VAE",
}
# A share in words: the first word whose lower bound the share reaches.
QUANTIFIERS = (
    (0.95, "nearly all"),
    (0.6, "most"),
    (0.4, "about half"),
    (0.15, "some"),
    (0.02, "few"),
    (0.0, "almost none"),
)
# Where a Gaussian whose centre is off the peaks sits, by (`vae.posterior.place`,
# two peaks or more): when its drawn ellipses take in no peak, and when one does.
OFF_PEAK_WORDS = {
    ("between", True): ("sits between them, on neither", "is centred between them"),
    ("away", True): ("sits away from both", "is centred on neither"),
    ("between", False): (
        "sits between the two highest, on none of them",
        "is centred between the two highest",
    ),
    ("away", False): ("sits away from all of them", "is centred on none of them"),
}
# How much a Gaussian and a posterior overlap (`vae.posterior.overlap`: the
# larger share of either inside the other's 99% region): the first bound reached.
OVERLAP_WORDS = ((0.2, "overlap"), (0.01, "barely overlap"), (0.0, "do not overlap"))
# The strength of a correlation, by its absolute value: the first bound it reaches.
CORRELATION_STRENGTHS = ((0.8, "strong"), (0.5, "moderate"), (0.2, "weak"))

Verdict = Literal["ahead", "tied", "behind"]


def count_words(n: int) -> str:
    """A count as the prose writes it: in words below ten, in digits from ten on."""
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def ordinal(n: int) -> str:
    """An ordinal as the prose writes it: "second", ..., "tenth", then "11th", "21st",
    "22nd", "25th".

    Raises:
        ValueError: n is below one.
    """
    if n < 1:
        raise ValueError(f"an ordinal counts from one, got {n}")
    if n < len(ORDINAL_WORDS):
        return ORDINAL_WORDS[n]
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def every_words(stride: int, noun: str) -> str:
    """Which items a stride keeps: "every test digit", "every fifth test digit"."""
    return f"every {noun}" if stride == 1 else f"every {ordinal(stride)} {noun}"


def join(items: list[str], last: str = " and ") -> str:
    """'A', 'A and B', 'A, B and C'."""
    return ", ".join(items[:-1]) + last + items[-1] if len(items) > 1 else items[0]


def percent(share: float) -> str:
    """A share as a percentage with two significant digits ('34%', '0.23%'), or
    'under 0.1%'."""
    return "under 0.1%" if share < 0.001 else f"{float(f'{100 * share:.2g}'):g}%"


def peaks_words(n: int, peaks: int) -> str:
    """n of a posterior's `peaks` peaks, as the object of a verb: 'one of them', 'both'."""
    if n == peaks:
        return "both" if n == 2 else "all of them"
    return f"{count_words(n)} of them"


def place_words(
    where: str,
    peak_shares: Sequence[float],
    drawn: Sequence[float],
    density: float | None = None,
) -> str:
    """Where a Gaussian sits on a posterior with several peaks, from where its
    centre is (`vae.posterior.place`) and which peaks its drawn ellipses take in.

    Args:
        where: "on", "between" or "away".
        peak_shares: for each peak, the share of the Gaussian inside its ellipse
            through the peak (`vae.posterior.peak_shares`).
        drawn: the shares of the Gaussian that the figure's ellipses hold, ascending.
        density: the posterior's density at the centre, as a share of its
            highest; said when the centre is off the peaks.
    """
    peaks = len(peak_shares)
    # The smallest drawn ellipse that takes in a peak (another peak, when the
    # centre is on one), and how many peaks it takes in.
    least = 2 if where == "on" else 1
    counts = ((s, sum(p <= s for p in peak_shares)) for s in drawn)
    held = next(((s, n) for s, n in counts if n >= least), None)
    ellipse = "" if held is None else f"its {percent(held[0])} ellipse"
    if where == "on":
        if held is None:
            return "sits on one of them"
        return f"sits on one of them, {ellipse} taking in {peaks_words(held[1], peaks)}"
    # Off the peaks: the first words when no drawn ellipse takes one in either.
    centre = OFF_PEAK_WORDS[where, peaks == 2][held is not None]
    if density is not None:
        centre += f", where the posterior's density is {percent(density)} of its highest"
    if held is None:
        return centre
    return f"{centre}, but {ellipse} takes in {peaks_words(held[1], peaks)}"


def overlap_words(overlap: float) -> str:
    """How much a Gaussian and a posterior overlap, as a verb phrase, from
    `vae.posterior.overlap`, by the bounds of OVERLAP_WORDS."""
    return next(words for bound, words in OVERLAP_WORDS if overlap >= bound)


def shortfall_words(amortization: float, gap: float) -> str:
    """Whose an example's gap mostly is, from its amortization gap and its whole gap:
    the encoder's or the Gaussian family's."""
    share = amortization / gap
    if share >= 0.9:
        return "nearly all of its shortfall is the encoder's, not the Gaussian's"
    if share >= 0.6:
        return "most of its shortfall is the encoder's, not the Gaussian's"
    if share > 0.4:
        return "its shortfall is about half the encoder's and half the Gaussian's"
    return "most of its shortfall is the Gaussian's, not the encoder's"


def verdict(difference: float, se: float, ties: float) -> Verdict:
    """How one score compares with another from their mean difference and its standard
    error: "tied" within `ties` standard errors, else "ahead" or "behind"."""
    return "tied" if abs(difference) < ties * se else "ahead" if difference > 0 else "behind"


def compare_words(
    difference: float,
    se: float,
    ties: float = 2.0,
    higher: str = "above",
    level: str = "level with",
    lower: str = "below",
) -> str:
    """One score against another, as the words before "the other's": `level`
    within `ties` standard errors of the difference, else `higher` or `lower`."""
    return {"ahead": higher, "tied": level, "behind": lower}[verdict(difference, se, ties)]


def marginal_words(
    difference: float, se: float, ties: float = 2.0, marginal: float = 3.0, *words: str
) -> str:
    """`compare_words`, with "marginally" before a verdict within `marginal` standard
    errors: one training run barely past the line is weak evidence."""
    said = compare_words(difference, se, ties, *words)
    level = words[1] if words else "level with"
    return f"marginally {said}" if said != level and abs(difference) < marginal * se else said


def elbo_verdict(verdicts: dict[str, list[str]]) -> str:
    """'the VAE is ahead of A, ties B and trails C', from the models in each `verdict`."""
    verbs = {"ahead": "is ahead of", "tied": "ties", "behind": "trails"}
    parts = [f"{verbs[k]} {' and '.join(names)}" for k, names in verdicts.items() if names]
    return "the VAE " + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]


def quantifier(share: float) -> str:
    """A share in words ("most", "about half"), by the bounds of QUANTIFIERS."""
    return next(word for bound, word in QUANTIFIERS if share >= bound)


def counted(n: int) -> str:
    """A count as the subject of "of the ...": "none", "one", ..., "12"."""
    return "none" if n == 0 else count_words(n)


def correlation_words(r: float) -> str:
    """'a weak negative rank correlation' or 'no clear rank correlation', from a
    rank correlation r, by the bounds of CORRELATION_STRENGTHS."""
    strength = next((word for bound, word in CORRELATION_STRENGTHS if abs(r) >= bound), None)
    if strength is None:
        return "no clear rank correlation"
    return f"a {strength} {'negative' if r < 0 else 'positive'} rank correlation"


def distance_words(r: float) -> str:
    """What the rank correlation r between how far out a class's codes lie and its
    share of the prior's draws says about why classes lose draws."""
    strong, moderate = CORRELATION_STRENGTHS[0][0], CORRELATION_STRENGTHS[1][0]
    if r <= -strong:
        return "the classes far out are the ones that lose draws"
    if r <= -moderate:
        return "distance from the origin is part of the reason, not all of it"
    if r < moderate:
        return "distance from the origin alone does not decide which classes lose draws"
    return "the classes far out, if anything, gain draws"


def trend_words(series: dict[str, list[float]]) -> str:
    """How each named series moves along its values, in one clause: 'A and B fall,
    and C rises'. A series falls (rises) when no step goes up (down) and its last
    value is below (above) its first; one with all values equal does not change;
    any other goes up and down."""
    verbs = {
        "fall": ("falls", "fall"),
        "rise": ("rises", "rise"),
        "flat": ("does not change", "do not change"),
        "both": ("goes up and down", "go up and down"),
    }
    groups: dict[str, list[str]] = {key: [] for key in verbs}
    for name, values in series.items():
        steps = [b - a for a, b in itertools.pairwise(values)]
        if all(step == 0 for step in steps):
            groups["flat"].append(name)
        elif all(step <= 0 for step in steps):
            groups["fall"].append(name)
        elif all(step >= 0 for step in steps):
            groups["rise"].append(name)
        else:
            groups["both"].append(name)
    clauses = [
        f"{join(names)} {verbs[key][len(names) > 1]}" for key, names in groups.items() if names
    ]
    return join(clauses, ", and " if len(clauses) == 2 else " and ")


def search_words(verdicts: dict[str, Verdict]) -> str:
    """Whether a fixed noise level that does as well as the VAE on the ELBO was
    found, as a sentence, from `verdict` of the VAE's ELBO against each noise
    level's (keyed by the level's label)."""
    ties = [name for name, v in verdicts.items() if v == "tied"]
    beats = [name for name, v in verdicts.items() if v == "behind"]
    if not ties and not beats:
        return "No σ₀ tried matches the VAE on the ELBO."
    parts = []
    if ties:
        parts.append(f"{join(ties)} {'ties' if len(ties) == 1 else 'tie'} the VAE on the ELBO")
    if beats:
        whom = "it" if ties else "the VAE on the ELBO"
        parts.append(f"{join(beats)} {'beats' if len(beats) == 1 else 'beat'} {whom}")
    return "So a good σ₀ exists: " + " and ".join(parts) + "."


def crossing_words(beyond: dict[str, int]) -> str:
    """What the decoded images along a line say, from how many of each model's
    (keyed by its title) lie beyond the range of its reconstructions."""
    strays = [name for name, count in beyond.items() if count]
    if not strays:
        return (
            "Along the line, neither decoder breaks down: each, a smooth function of its "
            "code, blends the two ends. What the VAE adds is not a smoother path between "
            "two known codes but a known distribution over the whole space, so that codes "
            "nobody encoded can be drawn and decoded."
        )
    owners = join([f"the {name}'s" for name in strays])
    verb = "decoder strays" if len(strays) == 1 else "decoders stray"
    return (
        f"Along the line, {owners} {verb} further from every training image than "
        "most of its reconstructions do."
    )


# What a part of the gap does from the training digits to the test digits, by
# `verdict` of the difference; and what log p(x) does.
GROWTH_WORDS = {"ahead": "is larger on the test digits", "behind": "is smaller on the test digits"}
LOG_PX_GROWTH = {
    "ahead": "is higher on the test digits",
    "tied": "does not differ measurably between them",
    "behind": "is higher on the training digits",
}


def gap_growth_words(approximation: Verdict, amortization: Verdict) -> str:
    """How the approximation and amortization gaps change from the training digits
    to the test digits, from the `verdict` of each change: a sentence."""
    if approximation == amortization == "tied":
        return (
            "Neither part of the gap, approximation or amortization, differs between the "
            "two sets by more than twice the standard error of the difference"
        )
    if "tied" in (approximation, amortization):
        same, other = ("approximation", "amortization")[:: 1 if approximation == "tied" else -1]
        moved = amortization if other == "amortization" else approximation
        return (
            f"The {same} gap is the same on both, within twice the standard error of the "
            f"difference, while the {other} gap {GROWTH_WORDS[moved]}"
        )
    return (
        f"The approximation gap {GROWTH_WORDS[approximation]} and the amortization gap "
        f"{GROWTH_WORDS[amortization]}"
    )
