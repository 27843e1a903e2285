"""The site's commands: `python -m vae figures | assets | page-weight | bench-site`.

They share the library's conventions (`vae.cli`): an error a user can fix is
one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vae.cli import Parser, dispatch, positive_int
from vae.errors import VAEError
from vae.site.experiments import PROFILES
from vae.site.project import DEVICES

COMMANDS = ("figures", "assets", "page-weight", "bench-site")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every site subcommand."""
    parser = Parser(prog="python -m vae", description="Build the site's figures and assets.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    figures = sub.add_parser("figures", help="train the models and draw the figures that are stale")
    figures.add_argument("--only", action="append", metavar="NAME", help="this figure only")
    figures.add_argument("--force", action="store_true", help="rerun even current figures")
    figures.add_argument("--jobs", type=positive_int, help="workers at once (default: cores)")
    figures.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="quick: few epochs; full: the published site (default: $VAE_PROFILE or full)",
    )
    figures.add_argument(
        "--device",
        choices=DEVICES,
        default=None,
        help="where models train (default: $VAE_DEVICE or cpu)",
    )
    figures.add_argument("--root", type=Path, default=Path("."), help="the project checkout")
    figures.add_argument(
        "--timeout",
        type=_seconds,
        help="seconds a task may run (default: $VAE_TASK_TIMEOUT, else ten times its last "
        "time and at least 300; 900 if it never ran)",
    )

    sub.add_parser("assets", help="fetch KaTeX and axe-core once (for the site and its tests)")

    weight = sub.add_parser("page-weight", help="bytes each page of the built site transfers")
    weight.add_argument("--site", type=Path, default=Path("site"), help="the built site")

    bench_site = sub.add_parser("bench-site", help="time site builds and count what reruns")
    bench_site.add_argument("--profile", choices=PROFILES, default="full")
    bench_site.add_argument("--root", type=Path, default=Path("."), help="the project checkout")
    bench_site.add_argument("--jobs", type=positive_int, help="workers at once (default: cores)")
    bench_site.add_argument(
        "--precision",
        action="store_true",
        help="instead: train every site model in fp32, fp32 with the next seed, and bf16",
    )
    return parser


def _seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    from vae.site.project import positive_seconds

    try:
        return positive_seconds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _figures(args: argparse.Namespace) -> None:
    from vae.site.project import Project, device_from_env, discover, profile_from_env
    from vae.site.publish import figure_files, katex_files, publish
    from vae.site.scheduler import build

    root = args.root.resolve()
    if not (root / "figures").is_dir():
        raise VAEError(f"{root} has no figures/ directory; pass --root")
    project = Project(
        root, args.profile or profile_from_env(), device=args.device or device_from_env()
    )
    report = build(project, args.only, args.force, args.jobs, args.timeout)
    # The outputs where the pages find them, for any builder (see `vae.site.publish`).
    files = figure_files(discover(project.figures_src), report.figures_dir)
    publish({**files, **katex_files()}, root / "docs")
    for failure in report.failed:
        print(f"\n--- {failure.name} failed ---\n{failure.error}", file=sys.stderr)
    if report.failed:
        names = ", ".join(f.name for f in report.failed)
        raise VAEError(f"{len(report.failed)} figure(s) failed: {names}")


def _assets(args: argparse.Namespace) -> None:
    from vae.site.assets import VENDORED, ensure

    for package in VENDORED:
        path, fetched = ensure(package)
        where = "fetched into" if fetched else "already in"
        print(f"{package.name} {package.version}: {where} {path}")


def _page_weight(args: argparse.Namespace) -> None:
    from vae.site.browser import report

    if not (args.site / "index.html").is_file():
        raise VAEError(f"{args.site} holds no built site; run `mkdocs build` first")
    table, ok = report(args.site.resolve())
    print(table)
    if not ok:
        raise VAEError("a page is over the weight limit")


def _bench_site(args: argparse.Namespace) -> None:
    if args.precision:
        from vae.site import bench_precision

        print(bench_precision.run(args.profile, args.jobs))
        return
    from vae.site.bench_site import run

    root = args.root.resolve()
    if not (root / "mkdocs.yml").is_file():
        raise VAEError(f"{root} has no mkdocs.yml; pass --root")
    print(run(root, args.profile, args.jobs))


def main(argv: list[str] | None = None) -> int:
    """Runs a site command; returns the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {
        "figures": _figures,
        "assets": _assets,
        "page-weight": _page_weight,
        "bench-site": _bench_site,
    }
    return dispatch(handlers, args)
