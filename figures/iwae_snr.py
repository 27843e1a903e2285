"""The finding of Rainforth et al. (2018), checked on the model trained on the
importance-weighted bound: as k grows, the signal-to-noise ratio of the
gradient of L_k rises for the decoder and falls for the encoder.

At the trained IWAE model's parameters and on a fixed batch of test digits,
the gradient of the batch's mean L_k is drawn REPEATS times for each k; each
parameter's SNR is |mean| / standard deviation over the draws, and each
network's SNR is the mean over its parameters (`vae.snr`).
"""

import torch

from vae.data import test_inputs
from vae.site import plotting
from vae.snr import gradient_snr, snr

PAGE = "extensions.md"
MODELS = ("iwae-2d",)
SETTINGS = {
    "quick": {"ks": (1, 5, 20), "repeats": 10, "digits": 4},
    "full": {"ks": (1, 5, 50), "repeats": 40, "digits": 8},
}
SEED = 0
CLOSE = 1.25  # a factor within this ratio of the theory's is close to it
NULL_COLUMNS = 100_000  # simulated parameters with no signal, for the floor
COLORS = {"encoder": "#d84315", "decoder": "#1565c0"}


def theory_words(change: float, theory: float, rises: bool) -> str:
    """How a network's change of SNR (its value at the largest k over its value at
    k = 1) compares with the theory's factor, which it should rise by (`rises`) or
    fall by: within CLOSE of it counts as close."""
    if (change > 1) != rises:
        return "the other way from the theory's"
    ratio = (change if rises else 1 / change) / theory
    if 1 / CLOSE <= ratio <= CLOSE:
        return "close to the theory's"
    return "smaller than the theory's" if ratio < 1 else "larger than the theory's"


def make(ctx):
    settings = SETTINGS[ctx.profile]
    ks = settings["ks"]
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("iwae-2d")
    x = test_inputs(dataset, run.config.data.binarize)
    x = x[:: len(x) // settings["digits"]][: settings["digits"]]  # spread over the classes
    k_train = run.config.train.k
    ks = tuple(sorted({*ks, k_train}))
    snrs = {k: gradient_snr(run.model, x, k, settings["repeats"], SEED) for k in ks}
    ctx.number("repeats", settings["repeats"])
    ctx.number("digits", len(x))
    ctx.number("k_max", ks[-1])
    ctx.number("k_train", k_train)
    # What the corrected SNR of a parameter with no signal averages to, with this
    # many draws: the clamp at zero leaves a floor under a mean over parameters.
    null = torch.randn(
        settings["repeats"], NULL_COLUMNS, generator=torch.Generator().manual_seed(SEED)
    )
    floor = float(snr(null.double()).mean())
    ctx.number("floor", floor)
    for network in COLORS:
        ctx.number(f"{network}_k1", snrs[ks[0]][network])
        ctx.number(f"{network}_ktrain", snrs[k_train][network])
        ctx.number(f"{network}_kmax", snrs[ks[-1]][network])
        change = snrs[ks[-1]][network] / snrs[ks[0]][network]
        ctx.number(f"{network}_factor", max(change, 1 / change))
        rises = snrs[ks[-1]][network] > snrs[ks[0]][network]
        ctx.words(f"{network}_trend", "rises" if rises else "falls")
        ctx.words(f"{network}_theory", theory_words(change, ks[-1] ** 0.5, network == "decoder"))
    ctx.number("sqrt_kmax", ks[-1] ** 0.5)
    ctx.number("floor_multiple", snrs[ks[-1]]["encoder"] / floor)
    fig, ax = plotting.figure(figsize=(plotting.CONTENT_WIDTH * 0.7, 3.0))
    for network, color in COLORS.items():
        ax.plot(ks, [snrs[k][network] for k in ks], "o-", color=color, label=network)
        slope = 0.5 if network == "decoder" else -0.5  # the theory's sqrt(k) and 1/sqrt(k)
        reference = [snrs[ks[0]][network] * (k / ks[0]) ** slope for k in (ks[0], ks[-1])]
        ax.plot((ks[0], ks[-1]), reference, ":", color=color, linewidth=1.2)
    ax.axvline(k_train, color="0.6", linewidth=0.8)
    ax.text(
        k_train,
        1.02,
        f"trained at $k = {k_train}$",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
    )
    ax.plot([], [], ":", color="0.4", label=r"$\sqrt{k}$, $1/\sqrt{k}$")
    ax.set(xscale="log", yscale="log", xlabel="$k$", ylabel="mean SNR of the gradient")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.legend()
    ctx.save("iwae-snr.svg", plotting.svg_bytes(fig))
