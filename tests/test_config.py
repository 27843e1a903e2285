"""Configs: each set of choices is spelled once, the command line offers exactly
what the configs accept, with the configs' defaults; seeds are range-checked."""

import typing

import pytest

from vae import config
from vae.cli import build_parser
from vae.config import DataConfig, ModelConfig, TrainConfig
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
    assert set(train["--model"].choices) == {"ae", "noisy-ae", "vae"}
    assert set(train["--likelihood"].choices) == field_choices(ModelConfig, "likelihood")
    assert set(train["--binarize"].choices) == field_choices(DataConfig, "binarize")
    assert set(train["--binarize"].choices) == {"continuous", "fixed", "dynamic"}
    assert set(train["--dataset"].choices) == field_choices(DataConfig, "dataset")
    assert set(train["--dataset"].choices) == {"mnist5k", "mnist", "fashion-mnist"}
    assert set(train["--precision"].choices) == field_choices(TrainConfig, "precision")
    assert set(train["--device"].choices) == {"auto", "cpu", "cuda"}
    download = choices(build_parser(), "data", "download")
    assert set(download["name"].choices) == {"mnist", "fashion-mnist"}
    assert config.EMBEDDED == "mnist5k"


@pytest.mark.parametrize(
    "cls, field, offered",
    [
        (ModelConfig, "kind", config.MODEL_KINDS),
        (ModelConfig, "likelihood", config.LIKELIHOODS),
        (DataConfig, "binarize", config.BINARIZATIONS),
        (DataConfig, "dataset", config.DATASETS),
        (TrainConfig, "precision", config.PRECISIONS),
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
    assert (args.dataset, args.binarize) == (data.dataset, data.binarize)
    assert (args.epochs, args.batch_size, args.lr) == (
        train.epochs,
        train.batch_size,
        train.learning_rate,
    )
    assert (args.beta, args.seed, args.precision) == (train.beta, train.seed, train.precision)


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
