"""Every model of part 4, and the basic VAE it starts from, in one table, each
scored the same way on the same test digits.

On every STRIDE-th test digit (each model's own kind of input: black and white,
or gray for the Gaussian decoders), DRAWS codes from q(z|x) give the ELBO (the
mean log-weight) and L_DRAWS, a bound every model with a density q(z|x) has.
The rate is KL(q(z|x) || p(z)): in closed form where q is Gaussian and p(z) is
N(0, I), else the codes' mean log q(z|x) - log p(z). A VQ-VAE's code is one codebook
entry, so it has an ELBO under a uniform prior and no L_k (`vae.vq`). Where q
is a diagonal Gaussian and p(z) = N(0, I), a dimension is active when its KL,
averaged over all test digits, is above ACTIVE_NATS, as in the collapse
section. The cost of training is in matrix-product FLOPs
(`vae.train.training_flops`), and each row has a strip of digits decoded from
codes drawn from the model's own prior, drawn together in one figure.

The exact log p(x) of the 2-D rows, on the same digits, comes from
figures/extension_scores.py, and checks L_DRAWS where the code is 2-D.
"""

import torch

from vae.data import test_inputs
from vae.objectives import iwae_bound
from vae.site import plotting
from vae.site.experiments import ACTIVE_NATS
from vae.stats import mean_and_se
from vae.train import training_flops

PAGE = "extensions.md"
# name: its label in the figure of samples
LABELS = {
    "vae-2d": "VAE, 2-D",
    "iwae-2d": "IWAE objective, 2-D",
    "vae-2d-full": "full-covariance q",
    "vae-2d-flow": "flow q",
    "vae-2d-vamp": "VampPrior",
    "vae-2d-hierarchy": "two levels",
    "vae-20d-beta-1": "VAE, 20-D",
    "iwae-20d": "IWAE objective, 20-D",
    "sigma-vae-fixed-1": "σ-VAE, σ = 1 (gray)",
    "sigma-vae-fixed-0.03": "σ-VAE, σ = 0.03 (gray)",
    "sigma-vae-learned": "σ-VAE, σ learned (gray)",
    "vq-vae": "VQ-VAE, uniform prior",
    "conv-20d-tiny-kl": "conv, tiny KL weight",
    "conv-20d": "conv, β = 1",
    "collapse": "collapse: plain",
    "collapse-warmup": "collapse: annealing",
    "collapse-free-bits": "collapse: free bits",
    "collapse-article-step": "collapse: article's step",
}
MODELS = (  # as LABELS
    "vae-2d",
    "iwae-2d",
    "vae-2d-full",
    "vae-2d-flow",
    "vae-2d-vamp",
    "vae-2d-hierarchy",
    "vae-20d-beta-1",
    "iwae-20d",
    "sigma-vae-fixed-1",
    "sigma-vae-fixed-0.03",
    "sigma-vae-learned",
    "vq-vae",
    "conv-20d-tiny-kl",
    "conv-20d",
    "collapse",
    "collapse-warmup",
    "collapse-free-bits",
    "collapse-article-step",
)
SETTINGS = {"quick": {"stride": 25, "draws": 20}, "full": {"stride": 5, "draws": 100}}
SAMPLES = 8  # digits in each row's strip
SEED = 0


def key(name: str) -> str:
    """A model's name as a key of this script's numbers."""
    return name.replace("-", "_").replace(".", "_")


def scores(run, x, draws, generator):
    """Per digit: the ELBO, L_draws (None for a deterministic encoder) and the rate."""
    model = run.model
    if run.config.model.kind == "vq-vae":
        with torch.no_grad():
            terms = model.terms(x)
        return terms.log_px_given_z - terms.kl, None, terms.kl.expand(len(x))
    with torch.no_grad():
        posterior = model.encode(x)
        terms = model.sample_terms(x, draws, generator, posterior)
        try:  # the rate in closed form, where q is Gaussian and p(z) is N(0, I)
            rate = model.kl(posterior)
        except ValueError:  # no closed form: the draws' mean log q(z|x) - log p(z)
            rate = terms.kl.mean(0)
    log_weights = (terms.log_px_given_z - terms.kl).double()  # (draws, B)
    return log_weights.mean(0), iwae_bound(log_weights), rate.double()


def active_dimensions(model, x) -> int | None:
    """How many dimensions have an average KL(q(z_j|x) || N(0, 1)) above ACTIVE_NATS;
    None where the KL does not split by dimension."""
    with torch.no_grad():
        kl = model.kl_per_dimension(model.encode(x))
    return None if kl is None else int((kl.mean(0) > ACTIVE_NATS).sum())


def make(ctx):
    settings = SETTINGS[ctx.profile]
    dataset = ctx.dataset("mnist5k")
    train_digits = len(dataset.train_images)
    samples = {}
    for name in MODELS:
        run = ctx.model(name)
        generator = torch.Generator().manual_seed(SEED)
        x_all = test_inputs(dataset, run.config.data.binarize)
        x = x_all[:: settings["stride"]]
        elbo, bound, rate = scores(run, x, settings["draws"], generator)
        k = key(name)
        for quantity, values in (("elbo", elbo), ("bound", bound)):
            if values is not None:
                mean, se = mean_and_se(values.double())
                ctx.number(f"{k}_{quantity}", mean)
                ctx.number(f"{k}_{quantity}_se", se)
        ctx.number(f"{k}_rate", float(rate.double().mean()))
        if run.config.model.kind != "vq-vae":  # its code is counted in tokens
            ctx.number(f"{k}_dims", run.config.model.latent_dim)
        active = active_dimensions(run.model, x_all)
        if active is not None:
            ctx.number(f"{k}_active", active)
        flops = training_flops(run.model, x_all, run.config.train, train_digits)
        ctx.number(f"{k}_gflops", flops / 1e9)
        samples[name] = run.model.sample_prior(SAMPLES, generator).numpy()
    ctx.number("digits", len(x))
    ctx.number("draws", settings["draws"])
    ctx.number("active_nats", ACTIVE_NATS)
    ctx.number("samples", SAMPLES)
    draw(ctx, samples)


def draw(ctx, samples):
    """A strip of each model's samples, in two columns, in the table's order."""
    rows = -(-len(samples) // 2)
    fig, axes = plotting.figure(rows, 2, figsize=(plotting.CONTENT_WIDTH, 0.72 * rows))
    for ax, (name, images) in zip(axes.T.flat, samples.items(), strict=False):
        plotting.digits(ax, images, SAMPLES, LABELS[name])
    for ax in axes.T.flat[len(samples) :]:
        ax.set_axis_off()
    ctx.save("samples.svg", plotting.svg_bytes(fig))
