"""The cloud of all codes, the aggregate posterior q(z), of the noisy
autoencoders at three fixed noise levels and of the VAE, against the prior p(z);
what each decodes from codes drawn from the prior; and the split of the average
KL term that compares q(z) with p(z).

q(z) is the mixture (1/N) sum_n q(z|x_n) of the N test digits' Gaussians:
N(mu(x), sigma_0^2 I) for the noisy autoencoder, whose KL term is therefore
||mu||^2 / 2 plus a constant, and N(mu(x), diag sigma^2(x)) for the VAE. The
average KL term splits exactly as (Hoffman & Johnson 2016, "ELBO surgery: yet
another way to carve up the variational evidence lower bound")

    mean_n KL(q(z|x_n) || p(z)) = I(x; z) + KL(q(z) || p(z)),

where I(x; z) is the mutual information between the index n of a digit and its
code under the mixture, at most log N. The left side is computed in closed form;
I(x; z) is estimated by Monte Carlo from samples of the mixture (its own
definition has the smaller variance), and KL(q(z) || p(z)) is the difference.
"""

import math

import numpy as np
import torch
from matplotlib.colors import PowerNorm

from vae.data import test_inputs
from vae.objectives import (
    diagonal_normal_log_density,
    gaussian_kl,
    standard_normal_log_density,
)
from vae.site import plotting
from vae.site.experiments import NOISE_SIGMAS, noise_name

PAGE = "autoencoders.md"
MODELS = ("noisy-ae-2d-sigma-0.05", "noisy-ae-2d-sigma-0.2", "noisy-ae-2d", "vae-2d")
SAMPLES_PER_CODE = 40  # draws from each test digit's q(z|x) for the Monte Carlo estimate
PRIOR_SAMPLES = 20_000  # draws from p(z) to find holes and the classes the prior lands on
HOLE_RATIO = 0.1  # q(z) below this fraction of p(z) counts as a hole
RECONSTRUCTION_SAMPLES = 10  # draws of z per test digit for E_q[log p(x|z)]
TIE_SES = 2  # ELBOs closer than this many standard errors of their difference: a tie
VERDICT_WORDS = {
    "ahead": "the VAE is ahead",
    "tied": "too little to tell the two apart",
    "behind": "the fixed noise comes out ahead",
}


FAR_OUT = 1.5  # a class lies far out when this many times the digits' share is beyond 2 sigma
LOSS_PLACES = {True: "far out", False: "where the clouds of several classes pile up"}


def loss_places(classes: list[str], far_out: list[bool]) -> str:
    """Where the classes that lose draws lose them, as a sentence."""
    if len(set(far_out)) == 1:
        return f"Both of these classes lose their draws {LOSS_PLACES[far_out[0]]}."
    (a, b), (place_a, place_b) = classes, (LOSS_PLACES[f] for f in far_out)
    return f'The "{a}"s lose their draws {place_a}, the "{b}"s {place_b}.'


def elbo_verdict(verdicts: dict[str, list[str]]) -> str:
    """'the VAE is ahead of A, ties B and trails C', from the models in each group."""
    verbs = {"ahead": "is ahead of", "tied": "ties", "behind": "trails"}
    parts = [f"{verbs[k]} {' and '.join(names)}" for k, names in verdicts.items() if names]
    return "the VAE " + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]


SIDE = 4  # a SIDE x SIDE grid of prior samples per noise level, on the same codes
GRID_POINTS = 161  # points per axis where a density is drawn
SEED = 0
CHUNK = 4096  # evaluation points per block when computing the mixture density


def mixture_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z) = log (1/N) sum_n N(z; mu_n, diag exp(logvar_n)) at points z (S, D): shape (S,)."""
    return torch.cat(
        [
            torch.logsumexp(component_log_densities(block, mu, logvar), dim=1)
            - math.log(mu.shape[0])
            for block in z.split(CHUNK)
        ]
    )


def component_log_densities(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """log N(z_s; mu_n, diag exp(logvar_n)) for every point s and component n: shape (S, N).

    Expanding the square, -(z - mu)^2 / (2 sigma^2) = -z^2 w / 2 + z mu w - mu^2 w / 2 with
    w = 1 / sigma^2, turns the sum over coordinates into two matrix products.
    """
    w = torch.exp(-logvar)  # (N, D)
    constant = -0.5 * (math.log(2 * math.pi) + logvar + mu.square() * w).sum(dim=1)  # (N,)
    return constant - 0.5 * z.square() @ w.T + z @ (mu * w).T


def elbo_surgery(
    mu: torch.Tensor, logvar: torch.Tensor, samples_per_code: int, generator: torch.Generator
) -> dict[str, float]:
    """The split mean KL = I(x; z) + KL(q(z) || p(z)) for the mixture of N(mu_n, exp(logvar_n)).

    The mutual information is estimated from its definition,
    I = mean_n E_{z ~ q(z|x_n)}[log q(z|x_n) - log q(z)], with `samples_per_code`
    draws from each digit's Gaussian; the difference inside lies between 0 and
    log N up to rounding, so the estimate has a small variance. KL(q(z) || p(z)) is
    the exact average KL minus it.

    Returns:
        average_kl (exact), mutual_information, marginal_kl, the standard error of
        both estimates (the same number), and the upper bound log N of the first.
    """
    mu, logvar = mu.double(), logvar.double()
    n, d = mu.shape
    average_kl = float(gaussian_kl(mu, logvar).mean())
    eps = torch.randn((samples_per_code, n, d), generator=generator, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps  # (samples_per_code, N, D)
    own = diagonal_normal_log_density(z, mu, logvar)  # log q(z|x_n), (samples_per_code, N)
    marginal = mixture_log_density(z.reshape(-1, d), mu, logvar).view(samples_per_code, n)
    values = own - marginal  # (samples_per_code, N)
    information = float(values.mean())
    # Each digit contributes a mean of samples_per_code independent draws; the
    # estimate is the average of N such means, so its variance is the mean of the
    # digits' variances over samples_per_code * N.
    within = values.var(dim=0) if samples_per_code > 1 else torch.zeros(n)
    standard_error = math.sqrt(float(within.mean()) / (samples_per_code * n))
    return {
        "average_kl": average_kl,
        "mutual_information": information,
        "marginal_kl": average_kl - information,
        "standard_error": standard_error,
        "mutual_information_max": math.log(n),
    }


def class_shares(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, labels: torch.Tensor, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each class's share of q(z), averaged over the points z, and its standard error.

    A class's share of q at a point is the sum over its digits of N(z; mu_n,
    sigma_n^2) divided by the sum over all digits. Returns two arrays of shape (C,).
    """
    one_hot = torch.nn.functional.one_hot(labels, classes).double()  # (N, C)
    shares = []
    for block in z.double().split(CHUNK):
        log_w = component_log_densities(block, mu.double(), logvar.double())  # (S, N)
        shares.append(torch.softmax(log_w, dim=1) @ one_hot)  # (S, C)
    per_point = torch.cat(shares).numpy()
    return per_point.mean(axis=0), per_point.std(axis=0) / math.sqrt(len(per_point))


def reconstruction_term(model, x, posterior, samples, generator) -> torch.Tensor:
    """E_q[log p(x|z)] per image, averaged over `samples` draws of z: shape (N,)."""
    mu, logvar = posterior
    total = torch.zeros(len(x))
    with torch.no_grad():
        for _ in range(samples):
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
            total += model.log_likelihood(x, model.likelihood_params(z))
    return total / samples


def mean_and_se(values: torch.Tensor) -> tuple[float, float]:
    """The mean over test digits and its standard error."""
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def posterior(run, x):
    """mu and logvar of q(z|x) for inputs x."""
    with torch.no_grad():
        return run.model.encode(x)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    generator = torch.Generator().manual_seed(SEED)
    posteriors = {}
    for name, key in [*((noise_name(s), f"sigma_{s:g}") for s in NOISE_SIGMAS), ("vae-2d", "vae")]:
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        posteriors[key.replace(".", "_")] = (run, x, *posterior(run, x))
    noise_levels(ctx, dataset, posteriors)
    split_table(ctx, posteriors, generator)
    vae_against_prior(ctx, dataset, posteriors["vae"], generator)


def density_grid(mu, logvar, limit):
    """q(z) on a GRID_POINTS x GRID_POINTS grid over [-limit, limit]^2, first row at the bottom."""
    axis = torch.linspace(-limit, limit, GRID_POINTS, dtype=torch.float64)
    z2, z1 = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    log_q = mixture_log_density(grid, mu.double(), logvar.double())
    return log_q.exp().view(GRID_POINTS, GRID_POINTS).numpy()


def noise_levels(ctx, dataset, posteriors):
    """The codes of the noisy autoencoders on shared axes, and their prior samples."""
    labels = dataset.test_labels.numpy()
    noisy = {s: posteriors[f"sigma_{s:g}".replace(".", "_")] for s in NOISE_SIGMAS}
    limit = plotting.map_limit(*(mu.numpy() for _, _, mu, _ in noisy.values()), quantile=1)
    z_prior = torch.randn((SIDE * SIDE, 2), generator=torch.Generator().manual_seed(SEED))
    fig, axes = plotting.figure(
        2, 3, figsize=(plotting.CONTENT_WIDTH, 6.0), height_ratios=(1, 1.05)
    )
    for column, (sigma, (run, _, mu, logvar)) in enumerate(noisy.items()):
        ax = axes[0, column]
        density = density_grid(mu, logvar, limit)
        ax.imshow(
            density,
            origin="lower",
            extent=(-limit, limit, -limit, limit),
            cmap="Greys",
            vmin=0,
            vmax=float(np.quantile(density, 0.995)),
            alpha=0.6,
        )
        plotting.latent_scatter(ax, mu.numpy(), labels, rf"$\sigma_0 = {sigma:g}$", limit)
        plotting.prior_circles(ax, label=False)
        if column:
            ax.set_ylabel("")
            ax.set_yticklabels([])
        with torch.no_grad():
            samples = run.model.decode_mean(z_prior).numpy()
        plotting.digits(axes[1, column], samples, SIDE)

        key = f"sigma_{sigma:g}".replace(".", "_")
        z = mu.numpy()
        distances = np.linalg.norm(z[:, None] - z[None], axis=-1)
        np.fill_diagonal(distances, np.inf)
        # How many noise widths separate a code from its nearest neighbour.
        ctx.number(f"{key}_neighbour_gap", float(np.median(distances.min(axis=1)) / sigma))
        ctx.number(f"{key}_means_rms", float(np.sqrt((z**2).sum(axis=1).mean())))
        # KL(N(mu, sigma_0^2 I) || N(0, I)) = ||mu||^2 / 2 + D (sigma_0^2 - 1 - log sigma_0^2) / 2.
        ctx.number(f"{key}_kl_constant", z.shape[1] * (sigma**2 - 1 - math.log(sigma**2)) / 2)
        ctx.number(f"{key}_sigma", sigma)
    axes[1, 0].set_title("decoded from $z \\sim \\mathcal{N}(0, I)$", loc="left", pad=14)
    fig.get_layout_engine().set(h_pad=0.1)
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("noise-levels.svg", plotting.svg_bytes(fig))
    ctx.number("noise_samples", SIDE * SIDE)
    ctx.number("noise_levels", len(NOISE_SIGMAS))


def split_table(ctx, posteriors, generator):
    """For each model: the split of the average KL, holes, the reconstruction term, the ELBO."""
    elbos, standard_errors = {}, []
    for key, (run, x, mu, logvar) in posteriors.items():
        for quantity, value in elbo_surgery(mu, logvar, SAMPLES_PER_CODE, generator).items():
            ctx.number(f"{key}_{quantity}", value)
        # Holes: the share of codes drawn from p(z) where the codes' own density
        # q(z) is under HOLE_RATIO times p(z), where the decoder was hardly trained.
        z_prior = torch.randn((PRIOR_SAMPLES, 2), generator=generator, dtype=torch.float64)
        log_ratio = mixture_log_density(z_prior, mu.double(), logvar.double())
        log_ratio -= standard_normal_log_density(z_prior)
        holes = (log_ratio < math.log(HOLE_RATIO)).double()
        ctx.number(f"{key}_holes", float(holes.mean()))
        ctx.number(f"{key}_holes_se", float(holes.std() / math.sqrt(len(holes))))
        recon = reconstruction_term(run.model, x, (mu, logvar), RECONSTRUCTION_SAMPLES, generator)
        elbos[key] = recon - gaussian_kl(mu, logvar)
        for quantity, values in (("log_px_given_z", recon), ("elbo", elbos[key])):
            mean, se = mean_and_se(values)
            ctx.number(f"{key}_{quantity}", mean)
            ctx.number(f"{key}_{quantity}_se", se)
            standard_errors.append(se)
    ctx.number("largest_se", max(standard_errors))
    # The models are scored on the same digits: their difference is measured far
    # more precisely than either score, so it gets a standard error of its own.
    # The prose says how they compare in words computed here, so that a retrained
    # model cannot leave a sentence behind its numbers.
    verdicts: dict[str, list[str]] = {"ahead": [], "tied": [], "behind": []}
    for sigma in NOISE_SIGMAS:
        key = f"sigma_{sigma:g}".replace(".", "_")
        mean, se = mean_and_se(elbos["vae"] - elbos[key])
        ctx.number(f"{key}_elbo_below_vae", mean)
        ctx.number(f"{key}_elbo_below_vae_se", se)
        verdict = "tied" if abs(mean) < TIE_SES * se else "ahead" if mean > 0 else "behind"
        ctx.number(f"{key}_versus_vae", VERDICT_WORDS[verdict])
        verdicts[verdict].append(rf"\(\sigma_0 = {sigma:g}\)")
    ctx.number("tie_ses", TIE_SES)
    ctx.number("elbo_verdict", elbo_verdict(verdicts))
    ctx.number("test_examples", len(elbos["vae"]))
    ctx.number("samples_per_code", SAMPLES_PER_CODE)
    ctx.number("reconstruction_samples", RECONSTRUCTION_SAMPLES)
    ctx.number("hole_ratio", HOLE_RATIO)
    ctx.number("prior_samples", PRIOR_SAMPLES)


def vae_against_prior(ctx, dataset, vae, generator):
    """The VAE's q(z) with the prior's circles, and the classes the prior's samples land on."""
    _, _, mu, logvar = vae
    labels = dataset.test_labels
    classes = len(dataset.class_names)
    limit = plotting.map_limit(mu.numpy(), quantile=1)
    density = density_grid(mu, logvar, limit)

    # Each class's share of q at points drawn from p, against its share of the test digits.
    z_prior = torch.randn((PRIOR_SAMPLES, 2), generator=generator)
    prior_share, prior_share_se = class_shares(z_prior, mu, logvar, labels, classes)
    data_share = np.bincount(labels.numpy(), minlength=classes) / len(labels)
    order = np.argsort(prior_share / data_share)
    beyond = {}  # rank -> share of the class's means beyond the prior's 2-sigma circle
    for rank, c in (("low", order[0]), ("low2", order[1]), ("high", order[-1])):
        ctx.number(f"{rank}_class", dataset.class_names[c])
        ctx.number(f"{rank}_prior_share", float(prior_share[c]))
        ctx.number(f"{rank}_prior_share_se", float(prior_share_se[c]))
        ctx.number(f"{rank}_data_share", float(data_share[c]))
        outside = mu[labels == int(c)].square().sum(dim=1) > 4.0  # beyond the 2-sigma circle
        beyond[rank] = float(outside.double().mean())
        ctx.number(f"{rank}_outside_2sigma", beyond[rank])
    inside = float((mu.square().sum(dim=1) <= 4.0).double().mean())
    ctx.number("means_inside_2sigma", inside)
    # Why the two least-drawn classes lose their draws, worded from their shares
    # beyond the circle, so that the sentence follows a retrained model.
    far_out = [beyond[rank] >= FAR_OUT * (1 - inside) for rank in ("low", "low2")]
    names = [dataset.class_names[c] for c in order[:2]]
    ctx.number("low_places", loss_places(names, far_out))
    ctx.number("prior_inside_2sigma", 1 - math.exp(-2.0))  # chi-square, 2 dof, radius 2

    fig, (ax_map, ax_bar) = plotting.figure(
        1, 2, figsize=(plotting.CONTENT_WIDTH, 3.8), width_ratios=(1, 1.1)
    )
    # A power scale shows the thin outskirts of q(z) beside its sharp peaks.
    ax_map.imshow(
        density,
        origin="lower",
        extent=(-limit, limit, -limit, limit),
        cmap="Greys",
        norm=PowerNorm(0.4, vmin=0, vmax=float(density.max())),
        interpolation="bilinear",
    )
    plotting.prior_circles(ax_map)
    ax_map.set_xlim(-limit, limit)
    ax_map.set_ylim(-limit, limit)
    ax_map.set_xlabel("$z_1$")
    ax_map.set_ylabel("$z_2$")
    ax_map.set_title("$q(z)$, the cloud of all codes")
    positions = np.arange(classes)
    ax_bar.bar(
        positions,
        prior_share,
        0.7,
        yerr=2 * prior_share_se,
        color=[plotting.CLASS_COLORS[c] for c in range(classes)],
    )
    ax_bar.hlines(
        data_share,
        positions - 0.45,
        positions + 0.45,
        color=plotting.INK,
        linewidth=2,
        label="share of test digits",
    )
    ax_bar.set_xticks(positions, dataset.class_names)
    ax_bar.set_xlabel("class")
    ax_bar.set_title("codes drawn from $p(z)$, by class")
    ax_bar.legend(loc="upper left")
    ax_bar.set_ylim(0, 1.3 * float(max(prior_share.max(), data_share.max())))
    plotting.check_text_size(fig)
    ctx.save("q-vs-prior.svg", plotting.svg_bytes(fig))
