"""Configs: each set of choices is spelled once, the command line offers exactly
what the configs accept, with the configs' defaults; seeds are range-checked."""

import dataclasses
import math
import typing

import pytest

from vae import config
from vae.cli import build_parser
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.errors import ConfigError


def choices(parser, *path):
    """{option: choices} of the subcommand reached by `path`."""
    for name in path:
        [sub] = [a for a in parser._actions if a.dest in ("command", "data_command")]
        parser = sub.choices[name]
    return {a.option_strings[0] if a.option_strings else a.dest: a for a in parser._actions}


def field_choices(cls, field):
    """The values a config field's Literal annotation allows."""
    return set(typing.get_args(typing.get_type_hints(cls)[field]))


def test_the_command_line_offers_what_the_configs_accept():
    train = choices(build_parser(), "train")
    assert set(train["--model"].choices) == field_choices(ModelConfig, "kind")
    assert set(train["--model"].choices) == {"ae", "noisy-ae", "vae", "vq-vae"}
    assert set(train["--likelihood"].choices) == field_choices(ModelConfig, "likelihood")
    assert set(train["--posterior"].choices) == field_choices(ModelConfig, "posterior")
    assert set(train["--posterior"].choices) == {"diagonal", "full", "flow"}
    assert set(train["--prior"].choices) == field_choices(ModelConfig, "prior")
    assert set(train["--prior"].choices) == {"normal", "mixture", "vamp", "hierarchy"}
    assert set(train["--decoder"].choices) == field_choices(ModelConfig, "decoder")
    assert set(train["--decoder"].choices) == {"mlp", "autoregressive"}
    assert set(train["--network"].choices) == field_choices(ModelConfig, "network")
    assert set(train["--network"].choices) == {"mlp", "conv"}
    assert set(train["--binarize"].choices) == field_choices(DataConfig, "binarize")
    assert set(train["--binarize"].choices) == {"continuous", "fixed", "dynamic"}
    assert set(train["--dataset"].choices) == field_choices(DataConfig, "dataset")
    assert set(train["--dataset"].choices) == {"mnist5k", "mnist", "fashion-mnist"}
    assert set(train["--precision"].choices) == field_choices(TrainConfig, "precision")
    assert set(train["--objective"].choices) == field_choices(TrainConfig, "objective")
    assert set(train["--objective"].choices) == {"elbo", "iwae"}
    assert set(train["--device"].choices) == {"auto", "cpu", "cuda"}
    download = choices(build_parser(), "data", "download")
    assert set(download["name"].choices) == {"mnist", "fashion-mnist"}
    assert config.EMBEDDED == "mnist5k"


@pytest.mark.parametrize(
    "cls, field, offered",
    [
        (ModelConfig, "kind", config.MODEL_KINDS),
        (ModelConfig, "likelihood", config.LIKELIHOODS),
        (ModelConfig, "posterior", config.POSTERIORS),
        (ModelConfig, "prior", config.PRIORS),
        (ModelConfig, "decoder", config.DECODERS),
        (ModelConfig, "network", config.NETWORKS),
        (DataConfig, "binarize", config.BINARIZATIONS),
        (DataConfig, "dataset", config.DATASETS),
        (TrainConfig, "precision", config.PRECISIONS),
        (TrainConfig, "objective", config.OBJECTIVES),
    ],
)
def test_a_config_accepts_every_choice_and_nothing_else(cls, field, offered):
    for value in offered:
        assert getattr(cls(**{field: value}), field) == value
    with pytest.raises(ConfigError):
        cls(**{field: "none-of-these"})


def test_the_command_lines_defaults_are_the_configs():
    args = build_parser().parse_args(["train", "--out", "x"])
    model, data, train = ModelConfig(), DataConfig(), TrainConfig()
    assert (args.model, args.hidden, args.latent_dim) == (
        model.kind,
        model.hidden_sizes,
        model.latent_dim,
    )
    assert (args.likelihood, args.noise_sigma) == (model.likelihood, model.noise_sigma)
    assert (args.posterior, args.flow_layers) == (model.posterior, model.flow_layers)
    assert (args.prior, args.prior_components) == (model.prior, model.prior_components)
    assert (args.codebook_size, args.code_groups) == (model.codebook_size, model.code_groups)
    assert args.decoder == model.decoder
    assert args.commitment == train.commitment
    assert (args.dataset, args.binarize) == (data.dataset, data.binarize)
    assert (args.epochs, args.batch_size, args.lr) == (
        train.epochs,
        train.batch_size,
        train.learning_rate,
    )
    assert (args.beta, args.seed, args.precision) == (train.beta, train.seed, train.precision)
    assert (args.objective, args.k) == (train.objective, train.k)
    assert (args.warmup_epochs, args.free_bits) == (train.warmup_epochs, train.free_bits)


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1])
def test_seeds_in_range_are_kept(seed):
    assert TrainConfig(seed=seed).seed == seed
    assert TrainConfig.from_dict(TrainConfig(seed=seed).to_dict()).seed == seed


@pytest.mark.parametrize(
    "seed, message",
    [
        (-1, "seed must be from 0 to 4294967295 (2**32 - 1), got -1"),
        (2**32, "seed must be from 0 to 4294967295 (2**32 - 1), got 4294967296"),
        (99999999999999999999, "got 99999999999999999999"),
        (1.5, "seed must be an integer, got 1.5"),
        (True, "seed must be an integer, got True"),
        ("3", "seed must be an integer, got '3'"),
    ],
)
def test_seeds_out_of_range_are_refused(seed, message):
    with pytest.raises(ConfigError) as error:
        TrainConfig(seed=seed)
    assert message in str(error.value)


# The fields each config had before any field was added later: a config that
# uses none of the later fields serialises exactly as it did then.
FIRST_FIELDS = {
    ModelConfig: {
        "kind",
        "image_shape",
        "hidden_sizes",
        "latent_dim",
        "likelihood",
        "noise_sigma",
        "observation_sigma",
    },
    DataConfig: {"dataset", "binarize"},
    TrainConfig: {"epochs", "batch_size", "learning_rate", "beta", "seed", "precision"},
}


@pytest.mark.parametrize("cls", FIRST_FIELDS, ids=lambda c: c.__name__)
def test_later_fields_at_their_defaults_are_not_written(cls):
    assert set(cls().to_dict()) == FIRST_FIELDS[cls]
    assert set(dataclasses.asdict(cls())) - FIRST_FIELDS[cls] <= config.LATER_FIELDS


def test_later_fields_round_trip_and_old_configs_load_with_the_defaults():
    iwae = TrainConfig(objective="iwae", k=5)
    assert iwae.to_dict()["objective"] == "iwae" and iwae.to_dict()["k"] == 5
    assert TrainConfig.from_dict(iwae.to_dict()) == iwae
    old = {"epochs": 3, "beta": 1.0, "precision": "fp32"}
    assert TrainConfig.from_dict(old) == TrainConfig(epochs=3)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"k": 0}, "k must be an integer >= 1, got 0"),
        ({"k": 2.5, "objective": "iwae"}, "k must be an integer >= 1, got 2.5"),
        ({"k": 5}, "k = 5 samples is for the iwae objective; the ELBO takes 1"),
        ({"objective": "iwae", "k": 5, "beta": 2.0}, "beta must be 1, not 2.0"),
        ({"warmup_epochs": -1}, "warmup_epochs must be >= 0, got -1"),
        ({"warmup_epochs": 1.5}, "warmup_epochs must be an integer, got 1.5"),
        ({"free_bits": -0.5}, "free_bits must be >= 0 and finite, got -0.5"),
        ({"free_bits": math.inf}, "free_bits must be >= 0 and finite"),
        ({"objective": "iwae", "k": 2, "warmup_epochs": 3}, "no KL term to warm up"),
        ({"objective": "iwae", "k": 2, "free_bits": 0.5}, "no KL term to warm up or to give"),
    ],
)
def test_bad_objective_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as error:
        TrainConfig(**settings)
    assert message in str(error.value)


@pytest.mark.parametrize("kind", ["ae", "noisy-ae"])
def test_iwae_needs_an_encoder_that_learns_its_variance(kind):
    with pytest.raises(ConfigError, match=f"learns its variance \\(model vae\\), not {kind}"):
        RunConfig(ModelConfig(kind=kind), DataConfig(), TrainConfig(objective="iwae", k=5))
    iwae = RunConfig(ModelConfig(), DataConfig(), TrainConfig(objective="iwae", k=5))
    assert RunConfig.from_dict(iwae.to_dict()) == iwae


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kind": "ae", "posterior": "full"}, "a full posterior needs model vae, not ae"),
        ({"kind": "noisy-ae", "posterior": "flow"}, "a flow posterior needs model vae"),
        ({"posterior": "flow", "flow_layers": 0}, "flow_layers must be at least 1, got 0"),
        ({"posterior": "flow", "flow_layers": 2.0}, "flow_layers must be an integer"),
        ({"flow_layers": 6}, "flow_layers is for the flow posterior only"),
        ({"kind": "noisy-ae", "prior": "vamp"}, "a vamp prior needs model vae, not noisy-ae"),
        ({"prior": "mixture", "prior_components": 0}, "prior_components must be at least 1"),
        ({"prior_components": 3}, "prior_components is for the mixture and vamp priors only"),
        ({"codebook_size": 32}, "codebook_size is for the vq-vae only"),
        ({"code_groups": 2}, "code_groups is for the vq-vae only"),
        ({"kind": "vq-vae", "codebook_size": 0}, "codebook_size must be an integer >= 1, got 0"),
        ({"kind": "vq-vae", "code_groups": 3}, "code_groups (3) must divide latent_dim (2)"),
        ({"network": "conv", "kind": "vq-vae"}, "a conv network is for the vae, ae and noisy-ae"),
        ({"network": "conv", "decoder": "autoregressive"}, "not vae with the autoregressive"),
        ({"network": "conv", "image_shape": (30, 30)}, "whose sides divide by 4, got (30, 30)"),
        ({"network": "conv", "image_shape": (784,)}, "needs 2-D images"),
        ({"network": "conv", "hidden_sizes": (200,)}, "hidden_sizes is for the mlp network only"),
    ],
)
def test_bad_posterior_and_prior_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as error:
        ModelConfig(**settings)
    assert message in str(error.value)
    flow = ModelConfig(posterior="flow", flow_layers=6)
    assert ModelConfig.from_dict(flow.to_dict()) == flow


def test_beta_warms_up_linearly_from_zero():
    """Over 4 epochs to beta = 2: 0, 0.5, 1, 1.5, then 2 from epoch 5 on."""
    settings = TrainConfig(beta=2.0, warmup_epochs=4)
    assert [settings.beta_at(e) for e in range(1, 8)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert [TrainConfig(beta=0.5).beta_at(e) for e in (1, 10)] == [0.5, 0.5]
    assert TrainConfig(warmup_epochs=1).beta_at(1) == 0.0


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(kind="ae"),
        ModelConfig(posterior="full"),
        ModelConfig(posterior="flow"),
        ModelConfig(prior="mixture"),
    ],
    ids=["ae", "full", "flow", "mixture"],
)
def test_free_bits_need_a_kl_per_dimension(model):
    with pytest.raises(ConfigError, match="free bits need a KL per latent dimension"):
        RunConfig(model, DataConfig(), TrainConfig(free_bits=0.5))
    for kind in ("vae", "noisy-ae"):
        RunConfig(ModelConfig(kind=kind), DataConfig(), TrainConfig(free_bits=0.5))


@pytest.mark.parametrize(
    "model, train, message",
    [
        (ModelConfig(kind="vq-vae"), TrainConfig(beta=2.0), "no KL term to weight or to warm up"),
        (ModelConfig(kind="vq-vae"), TrainConfig(warmup_epochs=2), "no KL term to weight"),
        (ModelConfig(kind="vq-vae"), TrainConfig(free_bits=1.0), "free bits need a KL per"),
        (ModelConfig(), TrainConfig(commitment=0.5), "commitment is for the vq-vae only"),
    ],
)
def test_bad_vq_vae_settings_are_refused(model, train, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(model, DataConfig(), train)
    vq = RunConfig(
        ModelConfig(kind="vq-vae", latent_dim=8, code_groups=4, codebook_size=32),
        DataConfig(),
        TrainConfig(commitment=0.25),
    )
    assert RunConfig.from_dict(vq.to_dict()) == vq
    with pytest.raises(ConfigError, match="commitment must be >= 0"):
        TrainConfig(commitment=-1.0)
