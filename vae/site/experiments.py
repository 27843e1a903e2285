"""Named experiments: the trained models the article's figures ask for.

A figure script asks for a model by name (`ctx.model("vae-2d")`); this registry
says what that name means. Each experiment has a full profile, for the published
site, and a quick one (fewer epochs) for tests and drafts.

The 2-D models and the 20-D VAE train with bfloat16 matrix products
(`precision="bf16"`) on a CPU that multiplies bfloat16 natively, and in float32
elsewhere: at equal epochs their test ELBOs stay within 0.5 nats of float32. The
beta sweep's short runs did not (two moved by more than that, within the spread
between seeds), so the sweep trains in float32. Measured by
`python -m vae bench-site --precision`; see the README.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from vae.config import EMBEDDED, DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.errors import VAEError
from vae.hardware import native_bf16

Profile = Literal["quick", "full"]
PROFILES: tuple[str, ...] = ("quick", "full")
QUICK_EPOCHS = 2


@dataclass(frozen=True)
class Experiment:
    """A named training run."""

    name: str  # what figure scripts ask for
    description: str  # one line, for listings
    config: RunConfig  # the full profile

    def run_config(self, profile: Profile, device: str = "cpu") -> RunConfig:
        """The config for a profile and device: the quick profile trains for
        QUICK_EPOCHS epochs; bf16 becomes fp32 on a GPU and on a CPU without
        native bfloat16 matrix products (see `vae.hardware.native_bf16`). The
        precision it returns is the one the model trains in, and so part of
        its cache key and of the config saved beside its weights."""
        if profile not in PROFILES:
            raise VAEError(f"unknown profile {profile!r}; choose quick or full")
        train = self.config.train
        if profile == "quick":
            train = dataclasses.replace(train, epochs=min(QUICK_EPOCHS, train.epochs))
        if train.precision == "bf16" and (device != "cpu" or not native_bf16(device)):
            train = dataclasses.replace(train, precision="fp32")
        return dataclasses.replace(self.config, train=train)


def _article_model(
    kind: str,
    latent_dim: int,
    epochs: int,
    binarize: str = "dynamic",
    precision: str = "bf16",
    **train,
) -> RunConfig:
    """A model of the article: MLP 784-400-D on the embedded digits, Adam at
    LEARNING_RATE, batches of 128, bfloat16 matrix products where native."""
    return RunConfig(
        ModelConfig(kind=kind, hidden_sizes=(400,), latent_dim=latent_dim),
        DataConfig(EMBEDDED, binarize),  # type: ignore[arg-type]
        TrainConfig(epochs=epochs, learning_rate=LEARNING_RATE, precision=precision, **train),  # type: ignore[arg-type]
    )


# Twice the 1e-3 of the PyTorch VAE example: on these 4,500 digits the 2-D VAE
# reaches in 10 epochs the test ELBO that 1e-3 reaches in 15 (-169 nats).
LEARNING_RATE = 2e-3
# The article's 2-D and 20-D models, part 4's included: what the build's 90 s
# allow. They are still improving; the training page says by how much.
EPOCHS = 10

# The beta sweep: 20-D VAEs that differ only in the weight of the KL term.
BETAS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SWEEP_EPOCHS = 6
# Averaging the reconstruction term over the 784 pixels instead of summing it,
# while the KL stays summed, is the same objective as beta = 784, divided by 784.
PIXELS = 784


# The noisy autoencoder at several fixed noise levels sigma_0: 1 is as wide as the prior.
NOISE_SIGMAS: tuple[float, ...] = (0.05, 0.2, 1.0)


def noise_name(sigma: float) -> str:
    """The experiment name of the noisy autoencoder with fixed noise `sigma`."""
    return "noisy-ae-2d" if sigma == 1.0 else f"noisy-ae-2d-sigma-{sigma:g}"


def _noisy(sigma: float, epochs: int) -> RunConfig:
    """The 2-D noisy autoencoder of the article with fixed noise `sigma`."""
    config = _article_model("noisy-ae", 2, epochs)
    return dataclasses.replace(config, model=dataclasses.replace(config.model, noise_sigma=sigma))


def _sweep(**settings) -> RunConfig:
    """A 20-D VAE of the beta sweep, in float32 (see the module's docstring)."""
    binarize = settings.pop("binarize", "dynamic")
    precision = settings.pop("precision", "fp32")
    return _article_model("vae", 20, SWEEP_EPOCHS, binarize, precision=precision, **settings)


# Part 4: the 2-D VAE with one thing changed, each trained as long as the VAE.
IWAE_K = 5  # importance samples per digit of the IWAE objective (Burda et al. use 5 and 50)
FLOW_LAYERS = 4  # affine coupling layers: each coordinate is transformed twice
VAMP_COMPONENTS = 50  # pseudo-inputs: one per 90 training digits (the paper: 500 for 60,000)


def _variant(model: dict | None = None, **train) -> RunConfig:
    """The article's 2-D VAE with some model or training settings changed."""
    config = _article_model("vae", 2, EPOCHS, **train)
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **(model or {})))


# Part 4: the 20-D VAE on gray digits with a Gaussian p(x|z), its sigma fixed at
# each of SIGMAS or learned (the sigma-VAE), trained like the beta sweep.
SIGMAS: tuple[float, ...] = (1.0, 0.03)
SIGMA_START = 0.1  # where the learned sigma starts


def sigma_name(sigma: float | None) -> str:
    """The experiment name of the Gaussian-decoder VAE with fixed `sigma`, or learned (None)."""
    return "sigma-vae-learned" if sigma is None else f"sigma-vae-fixed-{sigma:g}"


def _gaussian_decoder(sigma: float | None) -> RunConfig:
    """The 20-D VAE of the beta sweep on gray digits, with a Gaussian p(x|z)."""
    config = _sweep(binarize="continuous")
    likelihood = "gaussian-learned" if sigma is None else "gaussian"
    model = dataclasses.replace(
        config.model, likelihood=likelihood, observation_sigma=sigma or SIGMA_START
    )
    return dataclasses.replace(config, model=model)


# Part 4: a VQ-VAE whose 16-D code is cut into 8 two-dimensional pieces, each
# one of 64 codebook vectors: 8 tokens per digit. Trained like the beta sweep.
VQ_GROUPS, VQ_CODEBOOK, VQ_LATENT = 8, 64, 16


def _vq_vae() -> RunConfig:
    config = _article_model("vq-vae", VQ_LATENT, SWEEP_EPOCHS, precision="fp32")
    model = dataclasses.replace(config.model, code_groups=VQ_GROUPS, codebook_size=VQ_CODEBOOK)
    return dataclasses.replace(config, model=model)


# Part 4: latent diffusion's first stage at this scale: a small convolutional VAE
# with the sweep's 20-D code, epochs and float32, trained with a tiny KL weight
# to be sampled through a second model, and the same network at beta = 1.
TINY_BETA = 0.01


def _conv(beta: float) -> RunConfig:
    """The sweep's 20-D VAE with the conv network, in bfloat16 where native: on a
    CPU its convolutions train 30 % faster so, to the same test ELBO after 3 epochs
    (measured at 16 and 32 channels: -191.55 nats in fp32, -191.66 in bf16)."""
    config = _sweep(beta=beta, precision="bf16")
    return dataclasses.replace(config, model=dataclasses.replace(config.model, network="conv"))


# A latent dimension whose KL, averaged over the test digits, is above this many
# nats counts as active; below it, collapsed to the prior (results.md, extensions.md).
ACTIVE_NATS = 0.1

# Part 4: posterior collapse. The 20-D VAE of the sweep with an autoregressive
# decoder, trained at a step size of 1e-2: most coordinates of z fall back to
# the prior in the first epoch. Then the same run with KL annealing, with free
# bits, and at the article's step size. Five epochs each: the collapse, and what
# each remedy does to it, show by then.
COLLAPSE_LR = 1e-2
COLLAPSE_EPOCHS = 5
WARMUP_EPOCHS = 3  # beta rises from 0 over these first epochs
FREE_BITS = 0.5  # nats per latent dimension


def _collapse(**train) -> RunConfig:
    """The 20-D autoregressive-decoder VAE of the collapse runs, with `train` changed."""
    config = _sweep()
    settings = {"epochs": COLLAPSE_EPOCHS, "learning_rate": COLLAPSE_LR, **train}
    return dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, decoder="autoregressive"),
        train=dataclasses.replace(config.train, **settings),
    )


def beta_name(beta: float) -> str:
    """The experiment name of the sweep's model with this beta."""
    return f"vae-20d-beta-{beta:g}"


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("ae-2d", "plain autoencoder, 2-D code", _article_model("ae", 2, EPOCHS)),
        *(
            Experiment(
                noise_name(s),
                f"autoencoder with fixed noise sigma = {s:g} and a KL penalty, 2-D code",
                _noisy(s, EPOCHS),
            )
            for s in NOISE_SIGMAS
        ),
        Experiment("vae-2d", "variational autoencoder, 2-D code", _article_model("vae", 2, EPOCHS)),
        Experiment(
            "vae-20d", "variational autoencoder, 20-D code", _article_model("vae", 20, EPOCHS)
        ),
        Experiment(
            "iwae-2d",
            f"2-D VAE trained on the importance-weighted bound, k = {IWAE_K}",
            _variant(objective="iwae", k=IWAE_K),
        ),
        Experiment(
            "vae-2d-full",
            "2-D VAE whose q(z|x) is a full-covariance Gaussian",
            _variant({"posterior": "full"}),
        ),
        Experiment(
            "vae-2d-flow",
            f"2-D VAE whose q(z|x) is a Gaussian through {FLOW_LAYERS} affine coupling layers",
            _variant({"posterior": "flow", "flow_layers": FLOW_LAYERS}),
        ),
        Experiment(
            "vae-2d-vamp",
            f"2-D VAE with a VampPrior of {VAMP_COMPONENTS} pseudo-inputs",
            _variant({"prior": "vamp", "prior_components": VAMP_COMPONENTS}),
        ),
        Experiment(
            "vae-2d-hierarchy",
            "2-D VAE with a second 2-D code above z: u ~ N(0, I), z ~ p(z|u)",
            _variant({"prior": "hierarchy"}),
        ),
        *(
            Experiment(beta_name(b), f"20-D VAE, beta = {b:g}", _sweep(beta=b))
            for b in (*BETAS, float(PIXELS))
        ),
        Experiment(
            "iwae-20d",
            f"the sweep's 20-D VAE trained on the importance-weighted bound, k = {IWAE_K}",
            _sweep(objective="iwae", k=IWAE_K),
        ),
        *(
            Experiment(
                sigma_name(s),
                f"20-D VAE on gray digits, Gaussian p(x|z) with sigma = {s:g} fixed",
                _gaussian_decoder(s),
            )
            for s in SIGMAS
        ),
        Experiment(
            sigma_name(None),
            "20-D VAE on gray digits, Gaussian p(x|z) with one learned sigma (sigma-VAE)",
            _gaussian_decoder(None),
        ),
        Experiment(
            "conv-20d-tiny-kl",
            f"20-D convolutional VAE with a tiny KL weight, beta = {TINY_BETA:g}, "
            "sampled through a second model",
            _conv(TINY_BETA),
        ),
        Experiment("conv-20d", "the same convolutional VAE at beta = 1", _conv(1.0)),
        Experiment(
            "collapse",
            "20-D VAE, autoregressive decoder, step size 1e-2: posterior collapse",
            _collapse(),
        ),
        Experiment(
            "collapse-warmup",
            f"the collapse run with KL annealing over its first {WARMUP_EPOCHS} epochs",
            _collapse(warmup_epochs=WARMUP_EPOCHS),
        ),
        Experiment(
            "collapse-free-bits",
            f"the collapse run with free bits, {FREE_BITS:g} nats per dimension",
            _collapse(free_bits=FREE_BITS),
        ),
        Experiment(
            "collapse-article-step",
            f"the collapse run at the article's step size, {LEARNING_RATE:g}",
            _collapse(learning_rate=LEARNING_RATE),
        ),
        Experiment(
            "vq-vae",
            f"VQ-VAE: {VQ_GROUPS} codes per digit, each one of {VQ_CODEBOOK} vectors",
            _vq_vae(),
        ),
        Experiment(
            "vae-20d-gray",
            "20-D VAE fed gray levels as Bernoulli targets",
            _sweep(binarize="continuous"),
        ),
    )
}


def get(name: str) -> Experiment:
    """The experiment called `name`.

    Raises:
        VAEError: no such experiment; the message lists the known ones.
    """
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise VAEError(
            f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}"
        ) from None
