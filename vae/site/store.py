"""The model store: trained models kept under a key of everything that made them.

A model's key hashes its experiment config (with the precision it trains in,
which depends on the machine: see `vae.site.experiments`), the code a training
run executes (the import closure of `vae.train`, by syntax tree), the data,
the versions of the libraries that do its arithmetic (not the plotting
library's: that is in the figures' records), and the device. Change any of
those and the key changes, so the scheduler trains the model again; change
nothing and it never does.

The store only stores: it answers whether a model is there, loads it, and
saves one that the scheduler's worker trained, under a lock so that two
processes asking for one model train it once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import filelock

from vae import datafiles
from vae.checkpoint import check_run
from vae.errors import CheckpointError
from vae.site import experiments
from vae.site.fingerprint import PACKAGE_DIR, import_closure, module_path, source_hash
from vae.versions import library_versions

if TYPE_CHECKING:
    from vae.checkpoint import Run

# The module whose import closure is "the code a training run executes".
TRAINING_ENTRY = "vae.train"


def training_code(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """{module: syntax-tree hash} for every module a training run executes."""
    return {
        module: source_hash(module_path(module, package_dir))  # type: ignore[arg-type]
        for module in import_closure(TRAINING_ENTRY, package_dir)
    }


def model_key(
    name: str,
    profile: experiments.Profile,
    package_dir: Path = PACKAGE_DIR,
    device: str = "cpu",
) -> str:
    """The cache key of an experiment's trained model: a SHA-256 hex digest."""
    config = experiments.get(name).run_config(profile, device)
    material = {
        "config": config.to_dict(),
        "code": training_code(package_dir),
        "data": datafiles.source_id(config.data.dataset),
        "versions": library_versions(),
        "device": device,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ModelStore:
    """Trained models under ROOT/NAME-KEY/, each a run directory (see `vae.checkpoint`)."""

    def __init__(
        self,
        root: Path,
        profile: experiments.Profile = "full",
        package_dir: Path = PACKAGE_DIR,
        device: str = "cpu",
    ) -> None:
        self.root = Path(root)
        self.profile = profile
        self.package_dir = package_dir
        self.device = device

    def key(self, name: str) -> str:
        """The current cache key of experiment `name`."""
        return model_key(name, self.profile, self.package_dir, self.device)

    def path(self, name: str, key: str | None = None) -> Path:
        """Where the model `name` (with cache key `key`, default the current one) lives."""
        key = key or self.key(name)
        return self.root / f"{name}-{key[:20]}"

    def lock(self, name: str) -> filelock.FileLock:
        """The lock held while model `name` is trained and saved."""
        directory = self.root / ".locks"
        directory.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(directory / f"{self.path(name).name}.lock")

    def has(self, name: str) -> bool:
        """Whether an intact copy of the current model is stored (checksums, no torch)."""
        try:
            check_run(self.path(name))
        except CheckpointError:
            return False
        return True

    def load(self, name: str) -> tuple[Run, str]:
        """The stored model `name` and its key.

        Raises:
            CheckpointError: no current copy, or a damaged one.
        """
        from vae.checkpoint import load_run

        key = self.key(name)
        return load_run(self.path(name, key)), key

    def save(self, name: str, model, config, history, data_fingerprint: str) -> Path:
        """Stores a freshly trained model of experiment `name` under its current key."""
        from vae.checkpoint import save_run

        meta = {"experiment": name, "device": self.device}
        return save_run(self.path(name), model, config, history, data_fingerprint, meta)
