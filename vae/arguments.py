"""The command line's parser: every subcommand of `python -m vae`, its options
and their types. The defaults are the configs' own and the choices are read
from the configs' types, so the command line and the library agree. Building
the parser imports no torch, so `--help` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_USAGE = 2  # the status of a usage error, as of every error a user can fix


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line rather than the usage text plus a line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _number(convert, least, noun: str, bound: str):
    """An argparse type: text `convert`ed (int or float) and at least `least`,
    else an error that names the `noun` expected and the `bound` it missed."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not value >= least:
            raise argparse.ArgumentTypeError(f"expected {bound}, got {value}")
        return value

    return parse


positive_int = _number(int, 1, "an integer", "a positive integer")
positive_int.__doc__ = "An argparse type: an integer of at least 1."
_non_negative_float = _number(float, 0.0, "a number", "a number >= 0")
_non_negative_int = _number(int, 0, "an integer", "an integer >= 0")


def _widths(text: str) -> tuple[int, ...]:
    """At least one width: an empty piece (",", "", "400,") is a typo, not "no layer"."""
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 512,256, got {text!r}") from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"widths must be positive, got {text!r}")
    return widths


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    from vae.config import (
        BINARIZATIONS,
        DATASETS,
        DECODERS,
        DEVICES,
        IDX_DATASETS,
        LIKELIHOODS,
        MODEL_KINDS,
        NETWORKS,
        OBJECTIVES,
        POSTERIORS,
        PRECISIONS,
        PRIORS,
        DataConfig,
        ModelConfig,
        TrainConfig,
    )

    # The defaults are the configs' own, so the command line and the library agree.
    model_config, data_config, train_config = ModelConfig(), DataConfig(), TrainConfig()
    parser = Parser(prog="python -m vae", description="Train and inspect the article's models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    train = sub.add_parser("train", help="train a model and save it as a run directory")
    train.add_argument("--model", choices=MODEL_KINDS, default=model_config.kind)
    train.add_argument("--latent-dim", type=positive_int, default=model_config.latent_dim)
    train.add_argument(
        "--hidden",
        type=_widths,
        default=model_config.hidden_sizes,
        help="hidden widths, e.g. 512,256",
    )
    train.add_argument(
        "--likelihood",
        choices=LIKELIHOODS,
        default=model_config.likelihood,
        help="gaussian-learned: one learned sigma for every pixel (sigma-VAE; use gray digits, "
        "--binarize continuous)",
    )
    train.add_argument(
        "--decoder",
        choices=DECODERS,
        default=model_config.decoder,
        help="autoregressive: each pixel's logit also given the pixels before it in raster "
        "order (model vae, bernoulli likelihood)",
    )
    train.add_argument(
        "--network",
        choices=NETWORKS,
        default=model_config.network,
        help="conv: convolutional encoder and decoder, two stride-2 layers each way "
        "(--hidden is then unused)",
    )
    train.add_argument(
        "--observation-sigma",
        type=float,
        default=model_config.observation_sigma,
        help="sigma of a gaussian likelihood; where gaussian-learned starts",
    )
    train.add_argument(
        "--noise-sigma",
        type=float,
        default=model_config.noise_sigma,
        help="fixed sigma of noisy-ae",
    )
    train.add_argument(
        "--posterior",
        choices=POSTERIORS,
        default=model_config.posterior,
        help="q(z|x) of the vae: diagonal Gaussian, full covariance, or a coupling flow",
    )
    train.add_argument(
        "--flow-layers",
        type=positive_int,
        default=model_config.flow_layers,
        help="coupling layers of --posterior flow",
    )
    train.add_argument(
        "--prior",
        choices=PRIORS,
        default=model_config.prior,
        help="p(z) of the vae: N(0, I), a learned Gaussian mixture, the VampPrior, or a "
        "hierarchy (a second code u ~ N(0, I) above z, z ~ p(z|u))",
    )
    train.add_argument(
        "--prior-components",
        type=positive_int,
        default=model_config.prior_components,
        help="Gaussians of --prior mixture, pseudo-inputs of --prior vamp",
    )
    train.add_argument(
        "--codebook-size",
        type=positive_int,
        default=model_config.codebook_size,
        help="vectors in the vq-vae's codebook",
    )
    train.add_argument(
        "--code-groups",
        type=positive_int,
        default=model_config.code_groups,
        help="vq-vae: z is cut into this many vectors, each quantised alone",
    )
    train.add_argument("--dataset", choices=DATASETS, default=data_config.dataset)
    train.add_argument("--data-dir", help="directory holding the IDX files")
    train.add_argument(
        "--binarize",
        choices=BINARIZATIONS,
        default=data_config.binarize,
        help="dynamic (default): a fresh binary draw of every image each epoch",
    )
    train.add_argument("--epochs", type=positive_int, default=train_config.epochs)
    train.add_argument("--batch-size", type=positive_int, default=train_config.batch_size)
    train.add_argument("--lr", type=float, default=train_config.learning_rate)
    train.add_argument("--beta", type=_non_negative_float, default=train_config.beta)
    train.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=train_config.objective,
        help="iwae: maximise the importance-weighted bound L_k (model vae)",
    )
    train.add_argument(
        "--k", type=positive_int, default=train_config.k, help="samples per example of L_k"
    )
    train.add_argument(
        "--warmup-epochs",
        type=_non_negative_int,
        default=train_config.warmup_epochs,
        help="KL annealing: beta rises linearly from 0 over these first epochs",
    )
    train.add_argument(
        "--commitment",
        type=_non_negative_float,
        default=train_config.commitment,
        help="weight of the vq-vae's commitment loss",
    )
    train.add_argument(
        "--free-bits",
        type=_non_negative_float,
        default=train_config.free_bits,
        help="nats per latent dimension that the KL term does not penalise",
    )
    train.add_argument("--seed", type=int, default=train_config.seed)
    train.add_argument("--device", choices=DEVICES, default="auto")
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=train_config.precision,
        help="bf16: matrix products in bfloat16 where the hardware has them",
    )
    train.add_argument("--out", type=Path, required=True, help="run directory to write")
    train.add_argument("--force", action="store_true", help="replace a run already in --out")

    evaluate = sub.add_parser("eval", help="test ELBO and IWAE bound of a saved run, in nats")
    evaluate.add_argument("run", type=Path)
    evaluate.add_argument("--iwae-k", type=positive_int, default=100)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--device", choices=DEVICES, default="auto")
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")

    data = sub.add_parser("data", help="where the datasets are; download them")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    where = data_sub.add_parser("where", help="where each dataset is found, or where it was sought")
    where.add_argument("--data-dir")
    download = data_sub.add_parser(
        "download", help="fetch MNIST or Fashion-MNIST (needs a network)"
    )
    download.add_argument("name", choices=IDX_DATASETS)
    download.add_argument("--root", type=Path, help="data root (default: the user cache directory)")

    bench = sub.add_parser("bench", help="time the trainer against the PyTorch VAE example")
    bench.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    bench.add_argument("--data-dir")
    bench.add_argument("--epochs", type=positive_int, default=1, help="epochs of every run")
    bench.add_argument("--runs", type=positive_int, default=3, help="runs of every timing")
    return parser
