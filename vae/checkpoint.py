"""Saving and loading trained runs.

A run is a directory:

    config.json          RunConfig: model, data and training settings
    model.safetensors    the weights
    history.json         one row per epoch (see `vae.train.train`)
    meta.json            versions, data fingerprint and the weights' SHA-256

It is written in a temporary sibling directory and renamed into place, so a run
killed half-way never leaves a directory under the final name. Loading checks
the weights against the recorded SHA-256, so a damaged file is reported, not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vae.atomic import write_atomically
from vae.config import RunConfig
from vae.errors import CheckpointError
from vae.versions import library_versions

if TYPE_CHECKING:  # torch is imported only when weights are read or written
    import torch

    from vae.models import LatentModel

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
HISTORY_FILE = "history.json"
META_FILE = "meta.json"
RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, HISTORY_FILE, META_FILE)


@dataclass(frozen=True)
class Run:
    """A trained model with everything saved beside it."""

    model: LatentModel
    config: RunConfig
    history: list[dict[str, float]]
    meta: dict[str, Any]


def package_versions() -> dict[str, str]:
    """Versions that can change a trained model's numbers."""
    from vae import __version__

    return {"vae": __version__, **library_versions()}


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def save_run(
    path: str | os.PathLike,
    model: LatentModel,
    config: RunConfig,
    history: list[dict[str, float]],
    data_fingerprint: str,
    extra_meta: dict[str, Any] | None = None,
) -> Path:
    """Saves a trained model and its config, history and metadata to directory `path`.

    Whatever `path` held is replaced; a caller that does not own `path` checks
    first that it holds nothing but a run (`foreign_entries`).
    """
    import safetensors.torch

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = safetensors.torch.save(state)
    meta = {
        "versions": package_versions(),
        "data_fingerprint": data_fingerprint,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        **(extra_meta or {}),
    }
    files = {
        CONFIG_FILE: _dumps(config.to_dict()),
        WEIGHTS_FILE: weights,
        HISTORY_FILE: _dumps(history),
        META_FILE: _dumps(meta),
    }
    write_atomically(Path(path), files)
    return Path(path)


def foreign_entries(path: str | os.PathLike) -> list[str]:
    """The names in directory `path` that `save_run` does not write, sorted.

    A directory, or a link, under the name of a run's file counts as foreign too.
    """
    return sorted(
        entry.name
        for entry in Path(path).iterdir()
        if entry.name not in RUN_FILES or entry.is_symlink() or not entry.is_file()
    )


def check_run(path: str | os.PathLike) -> tuple[RunConfig, list, dict[str, Any], bytes]:
    """Reads a run's files and checks the weights' checksum, without importing torch.

    Returns:
        The config, history, metadata and the raw weights.

    Raises:
        CheckpointError: the directory is missing, incomplete or corrupted.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such run directory")
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: not a complete run (missing {', '.join(missing)})")
    try:
        config = RunConfig.from_dict(json.loads((path / CONFIG_FILE).read_text()))
        history = json.loads((path / HISTORY_FILE).read_text())
        meta = json.loads((path / META_FILE).read_text())
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: unreadable config, history or metadata ({e})") from None
    weights = (path / WEIGHTS_FILE).read_bytes()
    if hashlib.sha256(weights).hexdigest() != meta.get("weights_sha256"):
        raise CheckpointError(f"{path}/{WEIGHTS_FILE}: checksum mismatch; the file is corrupted")
    return config, history, meta, weights


def load_run(path: str | os.PathLike, device: torch.device | str = "cpu") -> Run:
    """Loads a run saved by `save_run` and rebuilds its model (in eval mode).

    Raises:
        CheckpointError: the directory is missing, incomplete or corrupted.
    """
    import safetensors.torch

    from vae.models import build_model

    config, history, meta, weights = check_run(path)
    model = build_model(config.model)
    try:
        model.load_state_dict(safetensors.torch.load(weights))
    except (RuntimeError, ValueError) as e:
        raise CheckpointError(f"{path}: weights do not fit the saved config ({e})") from None
    model.to(device).eval()
    return Run(model, config, history, meta)
