"""How much the importance-weighted bound L_k gains over the ELBO (L_1) as k
grows, on the test digits, for the 2-D and the 20-D VAE; on a subset of the
digits, what raising k from the largest value used here to the k = 5,000 of
Burda et al. (2015) adds; and the ELBO on the training digits, to compare.

Every L_k comes from one set of k_max log-weights per digit: for k < k_max,
L_k is averaged over the k_max / k disjoint blocks of k weights, an estimate
of its expectation with less noise than one block alone. L_1 is then the ELBO
averaged over k_max codes. Every mean carries its standard error over the
test digits; a gain L_k - L_1 is computed digit by digit, so its standard
error is that of the paired difference. The training-set ELBO uses one
binarization of each training digit, as dynamic binarization draws them in
training, and one code per digit.
"""

import numpy as np
import torch

from vae.bounds import sample_log_weights
from vae.data import binarize, test_inputs, to_unit_interval
from vae.objectives import mean_iwae_bound
from vae.site import plotting
from vae.stats import mean_and_se
from vae.words import verdict

PAGE = "variational-inference.md"
MODELS = ("vae-2d", "vae-20d")
# ks: the k plotted, each dividing the last; k_ref: the k = 5,000 of Burda
# et al., compared with the last of ks on the first `subset` test digits.
SETTINGS = {
    "quick": {"ks": (1, 10, 50), "k_ref": 250, "subset": 20},
    "full": {"ks": (1, 2, 5, 10, 50, 100, 500), "k_ref": 5000, "subset": 20},
}
TIES = 2  # a difference within this many standard errors is not told from zero
CHUNK = 50_000  # decoded images per forward pass; affects memory only
SEED = 0


def overfit_words(verdicts: dict[str, str]) -> str:
    """Which models' training ELBOs are measurably above or below their test ELBOs
    (`vae.words.verdict` of each difference): the end of a sentence."""
    measured = [name for name, said in verdicts.items() if said != "tied"]
    if not measured:
        return "; neither difference is more than twice its standard error"
    if len(measured) == len(verdicts):
        return ", each more than twice its standard error"
    return f"; only the {' and the '.join(measured)}'s is more than twice its standard error"


def make(ctx):
    settings = SETTINGS[ctx.profile]
    ks, k_ref, subset = settings["ks"], settings["k_ref"], settings["subset"]
    dataset = ctx.dataset("mnist5k")
    generator = torch.Generator().manual_seed(SEED)
    train_x = binarize(to_unit_interval(dataset.train_images), generator)
    fig, ax = plotting.figure(figsize=(5.2, 3.6))
    overfit = {}  # model: verdict on its training ELBO against its test ELBO
    for name, marker in (("vae-2d", "o"), ("vae-20d", "s")):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        log_w = sample_log_weights(run.model, x, ks[-1], SEED, CHUNK)
        bounds = {k: mean_iwae_bound(log_w, k) for k in ks}
        gains = [mean_and_se(bounds[k] - bounds[1]) for k in ks]
        ax.errorbar(
            ks,
            [gain for gain, _ in gains],
            yerr=[se for _, se in gains],
            marker=marker,
            capsize=3,
            label=f"{run.config.model.latent_dim}-D VAE",
        )
        key = name.replace("-", "_")
        for label, k in (("k1", 1), ("kmax", ks[-1])):
            value, se = mean_and_se(bounds[k])
            ctx.number(f"{key}_{label}", value)
            ctx.number(f"{key}_{label}_se", se)
        ctx.number(f"{key}_gain", gains[-1][0])
        ctx.number(f"{key}_gain_se", gains[-1][1])

        # The training digits against the test digits.
        with torch.no_grad():
            terms = run.model.terms(train_x, generator)
        train, train_se = mean_and_se((terms.log_px_given_z - terms.kl).double())
        test, test_se = mean_and_se(bounds[1])
        ctx.number(f"{key}_train_elbo", train)
        ctx.number(f"{key}_train_elbo_se", train_se)
        overfit_se = float(np.hypot(train_se, test_se))
        ctx.number(f"{key}_overfit", train - test)
        ctx.number(f"{key}_overfit_se", overfit_se)
        overfit[f"{run.config.model.latent_dim}-D VAE"] = verdict(train - test, overfit_se, TIES)

    ctx.words("overfit_words", overfit_words(overfit))

    # The 20-D VAE on the first digits: k_ref weights give L_{k_ref}, and
    # their blocks of k_max the expected L_{k_max} on the same digits.
    run = ctx.model("vae-20d")
    x = test_inputs(dataset, run.config.data.binarize)[:subset]
    log_w = sample_log_weights(run.model, x, k_ref, SEED + 1, CHUNK)
    extra, extra_se = mean_and_se(mean_iwae_bound(log_w, k_ref) - mean_iwae_bound(log_w, ks[-1]))
    ctx.number("k_ref", k_ref)
    ctx.number("subset", subset)
    ctx.number("vae_20d_kref_gain", extra)
    ctx.number("vae_20d_kref_gain_se", extra_se)

    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel("importance samples $k$")
    ax.set_ylabel(r"$\mathcal{L}_k - \mathcal{L}_1$, nats per test digit")
    ax.legend(loc="upper left")
    plotting.check_text_size(fig)
    ctx.save("bound-vs-k.svg", plotting.svg_bytes(fig))
    ctx.number("kmax", ks[-1])
    ctx.number("pixels", run.model.config.data_dim)
    ctx.number("latent_20d", run.model.config.latent_dim)
