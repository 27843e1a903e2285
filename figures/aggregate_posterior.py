"""The cloud of all codes, the aggregate posterior q(z), of the noisy
autoencoders at three fixed noise levels and of the VAE, against the prior p(z);
what each decodes from codes drawn from the prior; and the split of the average
KL term that compares q(z) with p(z).

q(z) is the mixture (1/N) sum_n q(z|x_n) of the N training digits' Gaussians,
the codes the decoder was trained on: N(mu(x), sigma_0^2 I) for the noisy
autoencoder, whose KL term is therefore ||mu||^2 / 2 plus a constant, and
N(mu(x), diag sigma^2(x)) for the VAE. The holes, the class shares and the split
are all of that one q(z): a mixture of fewer digits is thinner, and has more
holes. The reconstruction term and the ELBO are scores of the test digits. The
average KL term over the training digits splits exactly as (Hoffman & Johnson
2016, "ELBO surgery: yet another way to carve up the variational evidence lower
bound")

    mean_n KL(q(z|x_n) || p(z)) = I(x; z) + KL(q(z) || p(z)),

where I(x; z) is the mutual information between the index n of a digit and its
code under the mixture, at most log N. The left side is computed in closed form;
I(x; z) is estimated by Monte Carlo from samples of the mixture (its own
definition has the smaller variance), and KL(q(z) || p(z)) is the difference.
The maths is in `vae.aggregate`, the words in `vae.words`; this script computes,
records and draws.
"""

from typing import NamedTuple

import numpy as np
import torch
from matplotlib.colors import LogNorm, PowerNorm

from vae.aggregate import (
    class_shares,
    elbo_surgery,
    hole_indicators,
    mixture_cell_density,
    nearer_another_share,
    nearest_neighbour_distances,
    rank_correlation,
)
from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.models import Posterior
from vae.objectives import gaussian_kl
from vae.posterior import gaussian_share
from vae.site import plotting
from vae.site.experiments import NOISE_SIGMAS, noise_name
from vae.stats import mean_and_se
from vae.words import (
    HOLES_VERSUS_VAE,
    VERDICT_WORDS,
    correlation_words,
    distance_words,
    elbo_verdict,
    quantifier,
    search_words,
    trend_words,
    verdict,
)

PAGE = "autoencoders.md"
MODELS = ("noisy-ae-2d-sigma-0.05", "noisy-ae-2d-sigma-0.2", "noisy-ae-2d", "vae-2d")
SAMPLES_PER_CODE = 2  # draws from each training digit's q(z|x) for the Monte Carlo estimate
PRIOR_SAMPLES = 10_000  # draws from p(z) to find holes and the classes the prior lands on
HOLE_RATIO = 0.1  # q(z) below this fraction of p(z) counts as a hole
RECONSTRUCTION_SAMPLES = 10  # draws of z per test digit for E_q[log p(x|z)]
TIE_SES = 2  # differences within this many standard errors: a tie
SIDE = 4  # a SIDE x SIDE grid of prior samples per noise level, on the same codes
GRID_CELLS = 121  # cells per axis over which a density is averaged to be drawn
DENSITY_DECADES = 3  # the noise levels' densities are shaded down to 10^-3 of their peak
SEED = 0
# Of the split of the average KL, the page quotes both parts for every model;
# for the VAE also the whole, its bound log N and the estimate's standard error.
SPLIT_PARTS = ("mutual_information", "marginal_kl")


class Codes(NamedTuple):
    """A model, its test inputs and q(z|x) of the test and of the training digits."""

    run: object
    x: torch.Tensor
    test: Posterior
    train: Posterior


def posterior(run, x):
    """mu and logvar of q(z|x) for inputs x."""
    with torch.no_grad():
        return run.model.encode(x)


def training_inputs(dataset, binarization):
    """The training images as model inputs, as `test_inputs` makes the test images."""
    x = to_unit_interval(dataset.train_images)
    return x if binarization == "continuous" else binarize(x, fixed_generator())


def sigma_key(sigma):
    """The prefix of the values recorded for the noisy autoencoder with noise sigma."""
    return f"sigma_{sigma:g}".replace(".", "_")


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    generator = torch.Generator().manual_seed(SEED)
    models = {}
    for name, key in [*((noise_name(s), sigma_key(s)) for s in NOISE_SIGMAS), ("vae-2d", "vae")]:
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        train = posterior(run, training_inputs(dataset, run.config.data.binarize))
        models[key] = Codes(run, x, posterior(run, x), train)
    noise_levels(ctx, dataset, models, generator)
    # The same draws from the prior for every model's holes and the VAE's classes,
    # so that the models' shares of holes are compared draw by draw.
    z_prior = torch.randn((PRIOR_SAMPLES, 2), generator=generator, dtype=torch.float64)
    split_table(ctx, models, z_prior, generator)
    vae_against_prior(ctx, dataset, models["vae"].train, z_prior)
    ctx.number("q_examples", len(dataset.train_labels))


def density_grid(q, limit):
    """q(z) averaged over each cell of a GRID_CELLS x GRID_CELLS grid over
    [-limit, limit]^2, first row at the bottom: each image pixel is a cell, and
    clouds narrower than a cell are not lost between the cells' centres."""
    edges = torch.linspace(-limit, limit, GRID_CELLS + 1, dtype=torch.float64)
    return mixture_cell_density(edges, q.mu.double(), q.logvar.double()).numpy()


def density_image(ax, density, limit, **style):
    """q(z) on the axes, over [-limit, limit]^2."""
    ax.imshow(density, origin="lower", extent=(-limit, limit, -limit, limit), cmap="Greys", **style)


def noise_numbers(ctx, codes, generator):
    """Each noise level; at the smallest and the largest, which the page contrasts,
    how many noise widths separate a training digit's code from its nearest
    neighbour, and how many noisy codes lie nearer another digit's centre than
    their own; at the largest, how far from the origin its codes lie. `codes`
    maps sigma to the training digits' q(z|x)."""
    smallest, largest = NOISE_SIGMAS[0], NOISE_SIGMAS[-1]
    for sigma in NOISE_SIGMAS:
        ctx.number(f"{sigma_key(sigma)}_sigma", sigma)
    for sigma in (smallest, largest):
        key, q = sigma_key(sigma), codes[sigma]
        nearest = nearest_neighbour_distances(q.mu).numpy()
        ctx.number(f"{key}_neighbour_gap", float(np.median(nearest) / sigma))
        share, _ = nearer_another_share(q.mu, q.logvar, generator)
        ctx.number(f"{key}_nearer_another", share)
        ctx.words(f"{key}_nearer_another_words", quantifier(share))
    z = codes[largest].mu.numpy()
    ctx.number(f"{sigma_key(largest)}_means_rms", float(np.sqrt((z**2).sum(axis=1).mean())))


def noise_levels(ctx, dataset, models, generator):
    """The codes of the noisy autoencoders on shared axes, and their prior samples."""
    labels = dataset.test_labels.numpy()
    noisy = {s: models[sigma_key(s)] for s in NOISE_SIGMAS}
    limit = plotting.map_limit(*(m.test.mu.numpy() for m in noisy.values()), quantile=1)
    z_prior = torch.randn((SIDE * SIDE, 2), generator=torch.Generator().manual_seed(SEED))
    fig, axes = plotting.figure(
        2, 3, figsize=(plotting.CONTENT_WIDTH, 6.0), height_ratios=(1, 1.05)
    )
    for column, (sigma, codes) in enumerate(noisy.items()):
        ax = axes[0, column]
        density = density_grid(codes.train, limit)
        # A log scale over DENSITY_DECADES: the clouds of a small sigma_0 are
        # sharp peaks, which a linear scale shows as a few specks.
        top = float(density.max())
        norm = LogNorm(vmin=top * 10.0**-DENSITY_DECADES, vmax=top, clip=True)
        density_image(ax, density, limit, norm=norm, alpha=0.6)
        plotting.latent_scatter(
            ax, codes.test.mu.numpy(), labels, rf"$\sigma_0 = {sigma:g}$", limit
        )
        plotting.prior_circles(ax, label=False)
        if column:
            ax.set_ylabel("")
            ax.set_yticklabels([])
        with torch.no_grad():
            samples = codes.run.model.decode_mean(z_prior).numpy()
        plotting.digits(axes[1, column], samples, SIDE)
    axes[1, 0].set_title("decoded from $z \\sim \\mathcal{N}(0, I)$", loc="left", pad=14)
    fig.get_layout_engine().set(h_pad=0.1)
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("noise-levels.svg", plotting.svg_bytes(fig))
    noise_numbers(ctx, {sigma: codes.train for sigma, codes in noisy.items()}, generator)
    ctx.number("noise_samples", SIDE * SIDE)
    ctx.number("noise_levels", len(NOISE_SIGMAS))


def split_table(ctx, models, z_prior, generator):
    """For each model: the split of the average KL, holes, the reconstruction term, the ELBO."""
    elbos, holes, columns, standard_errors = {}, {}, {}, []
    for key, (run, x, test, train) in models.items():
        split = elbo_surgery(train.mu, train.logvar, SAMPLES_PER_CODE, generator)
        for quantity, value in split.items():
            if key == "vae" or quantity in SPLIT_PARTS:
                ctx.number(f"{key}_{quantity}", value)
        # Holes: codes drawn from p(z) where q(z) is under HOLE_RATIO times p(z),
        # where the decoder was hardly trained.
        holes[key] = hole_indicators(train.mu, train.logvar, z_prior, HOLE_RATIO)
        ctx.number(f"{key}_holes", float(holes[key].mean()))
        recon = run.model.reconstruction_term(x, RECONSTRUCTION_SAMPLES, generator, test)
        elbos[key] = recon - gaussian_kl(test.mu, test.logvar)
        for quantity, values in (("log_px_given_z", recon), ("elbo", elbos[key])):
            mean, se = mean_and_se(values)
            ctx.number(f"{key}_{quantity}", mean)
            standard_errors.append(se)
        columns[key] = (float(recon.mean()), split["mutual_information"], split["marginal_kl"])
    # The share of the VAE's KL term that is the information its codes carry.
    information_share = columns["vae"][1] / (columns["vae"][1] + columns["vae"][2])
    ctx.words("vae_information_words", quantifier(information_share))
    # The page gives one bound for the standard errors of all these means.
    ctx.number("largest_se", max(standard_errors))
    comparisons(ctx, elbos, holes)
    # How the columns move from the smallest noise level to the largest.
    noisy = [sigma_key(s) for s in NOISE_SIGMAS]
    series = {
        "the reconstruction term": [columns[k][0] for k in noisy],
        "I(x; z)": [columns[k][1] for k in noisy],
        "the holes": [float(holes[k].mean()) for k in noisy],
        "KL(q(z) ‖ p(z))": [columns[k][2] for k in noisy],
    }
    ctx.words("noise_trend", trend_words(series))
    ctx.number("test_examples", len(elbos["vae"]))
    ctx.number("samples_per_code", SAMPLES_PER_CODE)
    ctx.number("reconstruction_samples", RECONSTRUCTION_SAMPLES)
    ctx.number("hole_ratio", HOLE_RATIO)
    ctx.number("prior_samples", PRIOR_SAMPLES)


def comparisons(ctx, elbos, holes):
    """Each noise level against the VAE, on the ELBO and on holes, in numbers and words.

    The models are scored on the same digits and the same draws from the prior:
    their differences are measured far more precisely than either score, so each
    gets a standard error of its own. The prose says how they compare in words
    computed here, so that a retrained model cannot leave a sentence behind its
    numbers."""
    verdicts: dict[str, list[str]] = {"ahead": [], "tied": [], "behind": []}
    by_level = {}
    for sigma in NOISE_SIGMAS:
        key, label = sigma_key(sigma), f"σ₀ = {sigma:g}"  # words are plain text, no math
        mean, se = mean_and_se(elbos["vae"] - elbos[key])
        ctx.number(f"{key}_elbo_below_vae", mean)
        ctx.number(f"{key}_elbo_below_vae_se", se)
        which = verdict(mean, se, TIE_SES)
        ctx.words(f"{key}_versus_vae", VERDICT_WORDS[which])
        verdicts[which].append(label)
        by_level[label] = which
        if sigma != NOISE_SIGMAS[-1]:  # the page words the holes of the other two
            more, more_se = mean_and_se(holes[key] - holes["vae"])
            which_holes = verdict(more, more_se, TIE_SES)
            ctx.words(f"{key}_holes_versus_vae", HOLES_VERSUS_VAE[which_holes])
    ctx.number("tie_ses", TIE_SES)
    ctx.words("elbo_verdict", elbo_verdict(verdicts))
    ctx.words("search", search_words(by_level))


def class_numbers(ctx, dataset, mu, prior_share, prior_share_se, data_share):
    """The classes the prior's codes land on least, how far out they lie, and how
    far out a class lies against its share of the draws, across all classes."""
    labels = dataset.train_labels
    classes = len(dataset.class_names)
    order = np.argsort(prior_share / data_share)
    beyond = np.array(
        [float((mu[labels == c].square().sum(dim=1) > 4.0).double().mean()) for c in range(classes)]
    )  # share of each class's means beyond 2 sigma
    # The class with the most means beyond the circle, of those not drawn least.
    far = max(order[2:], key=lambda c: beyond[c])
    for rank, c in (("low", order[0]), ("low2", order[1]), ("far", far)):
        ctx.words(f"{rank}_class", dataset.class_names[c])
        ctx.number(f"{rank}_prior_share", float(prior_share[c]))
        ctx.number(f"{rank}_outside_2sigma", float(beyond[c]))
    # The least-drawn class's share, with its error, against its share of the digits.
    ctx.number("low_prior_share_se", float(prior_share_se[order[0]]))
    ctx.number("low_data_share", float(data_share[order[0]]))
    inside = float((mu.square().sum(dim=1) <= 4.0).double().mean())
    ctx.number("means_inside_2sigma", inside)
    ctx.number("prior_inside_2sigma", gaussian_share(2.0))
    # Across the classes: the median distance of a class's means from the origin
    # against its share of the draws over its share of the digits.
    distance = torch.stack([mu[labels == c].norm(dim=1).median() for c in range(classes)])
    r = rank_correlation(distance, torch.as_tensor(prior_share / data_share))
    ctx.number("distance_draws_correlation", r)
    ctx.words("distance_draws_correlation_words", correlation_words(r))
    ctx.words("distance_draws_words", distance_words(r))
    ctx.number("classes", classes)


def vae_against_prior(ctx, dataset, q, z_prior):
    """The VAE's q(z) with the prior's circles, and the classes the prior's samples land on."""
    labels = dataset.train_labels
    classes = len(dataset.class_names)
    limit = plotting.map_limit(q.mu.numpy(), quantile=1)
    density = density_grid(q, limit)

    # Each class's share of q at points drawn from p, against its share of the digits.
    prior_share, prior_share_se = (
        t.numpy() for t in class_shares(z_prior, q.mu, q.logvar, labels, classes)
    )
    data_share = np.bincount(labels.numpy(), minlength=classes) / len(labels)
    class_numbers(ctx, dataset, q.mu, prior_share, prior_share_se, data_share)

    fig, (ax_map, ax_bar) = plotting.figure(
        1, 2, figsize=(plotting.CONTENT_WIDTH, 3.8), width_ratios=(1, 1.1)
    )
    # A power scale shows the thin outskirts of q(z) beside its sharp peaks.
    norm = PowerNorm(0.4, vmin=0, vmax=float(density.max()))
    density_image(ax_map, density, limit, norm=norm, interpolation="bilinear")
    plotting.prior_circles(ax_map)
    ax_map.set_xlim(-limit, limit)
    ax_map.set_ylim(-limit, limit)
    ax_map.set_xlabel("$z_1$")
    ax_map.set_ylabel("$z_2$")
    ax_map.set_title("$q(z)$, the cloud of all codes")
    positions = np.arange(classes)
    colors = [plotting.CLASS_COLORS[c] for c in range(classes)]
    width = 0.7
    ax_bar.bar(positions, prior_share, width, yerr=2 * prior_share_se, color=colors)
    # One line across each bar, as wide as the bar: that class's share of the digits.
    ax_bar.hlines(
        data_share, positions - width / 2, positions + width / 2, color=plotting.INK,
        linewidth=2, label="share of training digits",
    )  # fmt: skip
    ax_bar.set_xticks(positions, dataset.class_names)
    ax_bar.set_xlabel("class")
    ax_bar.set_title("codes drawn from $p(z)$, by class")
    ax_bar.legend(loc="upper left")
    ax_bar.set_ylim(0, 1.3 * float(max(prior_share.max(), data_share.max())))
    plotting.check_text_size(fig)
    ctx.save("q-vs-prior.svg", plotting.svg_bytes(fig))
