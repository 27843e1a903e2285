"""Numbers put into words for the article's prose.

A sentence that says "the VAE is ahead" or "the encoder's q sits between the
two peaks" is a claim about numbers a model produced; these functions choose
such words from the numbers, so that the prose follows a retrained model
instead of describing an old one. They are pure functions of numbers; the
figure scripts record what they return with `ctx.words`.
"""

from __future__ import annotations

from typing import Literal

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VERDICT_WORDS = {
    "ahead": "the VAE is ahead",
    "tied": "too little to tell the two apart",
    "behind": "the fixed noise comes out ahead",
}
LOSS_PLACES = {True: "far out", False: "where the clouds of several classes pile up"}

Verdict = Literal["ahead", "tied", "behind"]


def count_words(n: int) -> str:
    """A count as the prose writes it: in words below ten, in digits from ten on."""
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def percent(share: float) -> str:
    """A share as a percentage with two significant digits ('34%', '0.23%'), or
    'under 0.1%'."""
    return "under 0.1%" if share < 0.001 else f"{float(f'{100 * share:.2g}'):g}%"


def place_words(where: str, peaks: int) -> str:
    """Where a Gaussian sits (`vae.posterior.place`) on a posterior with `peaks` peaks."""
    if where == "on":
        return "sits on one of them"
    if peaks == 2:
        return f"sits {'between them' if where == 'between' else 'away from both'}, on neither"
    if where == "between":
        return "sits between the two highest, on none of them"
    return "sits away from all of them"


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


def elbo_verdict(verdicts: dict[str, list[str]]) -> str:
    """'the VAE is ahead of A, ties B and trails C', from the models in each `verdict`."""
    verbs = {"ahead": "is ahead of", "tied": "ties", "behind": "trails"}
    parts = [f"{verbs[k]} {' and '.join(names)}" for k, names in verdicts.items() if names]
    return "the VAE " + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]


def loss_places(classes: list[str], far_out: list[bool]) -> str:
    """Where two classes that lose draws from the prior lose them, as a sentence:
    far out, or where several classes' clouds pile up."""
    if len(set(far_out)) == 1:
        return f"Both of these classes lose their draws {LOSS_PLACES[far_out[0]]}."
    (a, b), (place_a, place_b) = classes, (LOSS_PLACES[f] for f in far_out)
    return f'The "{a}"s lose their draws {place_a}, the "{b}"s {place_b}.'
