"""`python -m vae bench-site`: how long the site takes to build, and what reruns.

In a temporary copy of the checkout, with an empty cache, it times:

1. a clean build (every model trained, every figure drawn);
2. a rebuild with nothing changed, against a plain MkDocs build of the same
   pages with the figure hook switched off: the difference is the hook's cost;
3. a rebuild after a prose-only edit;
4. a rebuild after adding a function to `vae/site/plotting.py`.

and prints a table of seconds, figures rerun and models trained for each.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COPIED = ("vae", "figures", "docs", "mkdocs.yml")
SUMMARY = re.compile(
    r"figures \((\w+)\): (\d+) ran, (\d+) cached, (\d+) failed; (\d+) models trained"
)


def copy_checkout(root: Path, destination: Path) -> Path:
    """Copies what a site build reads (package, scripts, pages, config) to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def _mkdocs(root: Path, config: str, profile: str) -> tuple[float, str]:
    env = {
        **os.environ,
        "VAE_PROFILE": profile,
        "VAE_CACHE_DIR": str(root / "cache"),
        "NO_MKDOCS_2_WARNING": "1",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", config],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"mkdocs build failed:\n{result.stderr[-3000:]}")
    return seconds, result.stderr


def _counts(log: str) -> tuple[str, str]:
    match = SUMMARY.search(log)
    if not match:
        return "-", "-"
    return match.group(2), match.group(5)


def run(root: Path, profile: str = "full", jobs: int | None = None) -> str:
    """Runs the four builds and returns the table as text."""
    with tempfile.TemporaryDirectory(prefix="vae-bench-site-") as tmp:
        copy = Path(tmp)
        copy_checkout(root, copy)
        config = (copy / "mkdocs.yml").read_text()
        plain = re.sub(r"(?m)^hooks:\n(?:  - .*\n)+", "", config)
        (copy / "mkdocs-plain.yml").write_text(plain)
        rows = []
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile)
        rows.append(("clean build", seconds, *_counts(log)))
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile)
        plain_seconds, _ = _mkdocs(copy, "mkdocs-plain.yml", profile)
        rows.append(("rebuild, nothing changed", seconds, *_counts(log)))
        rows.append(("plain MkDocs build (no hook)", plain_seconds, "-", "-"))
        page = next((copy / "docs").glob("*.md"))
        page.write_text(page.read_text() + "\nA sentence added by the benchmark.\n")
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile)
        rows.append(("rebuild after a prose edit", seconds, *_counts(log)))
        plotting = copy / "vae" / "site" / "plotting.py"
        plotting.write_text(plotting.read_text() + "\n\ndef _benchmark_edit():\n    return 1\n")
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile)
        rows.append(("rebuild after editing vae/site/plotting.py", seconds, *_counts(log)))
    overhead = rows[1][1] - rows[2][1]
    header = ("build", "seconds", "figures rerun", "models trained")
    table = [header] + [(r[0], f"{r[1]:.2f}", r[2], r[3]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [f"site build, profile {profile}, {os.cpu_count()} cores"]
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"hook overhead on a no-change rebuild: {overhead:+.2f} s")
    return "\n".join(lines)
