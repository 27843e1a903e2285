"""What a figure script's `make(ctx)` receives: models, data, a place to save
outputs, and two channels to the prose.

- `ctx.number(key, value)` records a number the pages quote as
  `{{ NAME.KEY }}` (or `{{ NAME.KEY:FORMAT }}`). Only ints and floats are
  numbers, and a key keeps its type from one build to the next: a key that
  was an int and is now a float would render "1,000" one day and "1,000.00"
  the next, so the figure fails and names the key instead.
- `ctx.words(key, text)` records words the figure chose from its numbers
  ("nearly all", "between the two peaks"), quoted the same way. Words are
  inserted as text, never formatted.

The numbers go to `numbers.json` and the words to `words.json` in the figure's
outputs; `vae.site.numbers` puts both into the pages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from vae import datafiles
from vae.errors import VAEError
from vae.site.fingerprint import file_hash
from vae.site.project import FigureScript, Project
from vae.site.store import ModelStore

NUMBERS = "numbers.json"
WORDS = "words.json"


# What starts TeX math on a page: words holding one would show it as source.
MATH_MARKS = ("\\(", "\\[", "$$")


def _type_name(value: Any) -> str:
    return type(value).__name__


class FigureContext:
    """What a figure script's `make(ctx)` receives: models, data and a place to save."""

    def __init__(self, script: FigureScript, project: Project) -> None:
        self.name = script.name
        self.profile = project.profile
        self.root = project.root
        self.declared = script.models
        self._store = ModelStore(
            project.models_dir, project.profile, project.package_dir, project.device
        )
        self.files: dict[str, bytes] = {}
        self.numbers: dict[str, int | float] = {}
        self.recorded_words: dict[str, str] = {}
        self.models: dict[str, str] = {}
        self.datasets: dict[str, str] = {}
        self.files_read: dict[str, str] = {}
        try:  # the types of the last build's numbers, which must not change
            previous = json.loads((project.figures_out / script.name / NUMBERS).read_text())
            self._previous_types = {k: _type_name(v) for k, v in previous.items()}
        except (OSError, ValueError, AttributeError):
            self._previous_types = {}

    def depend_on(self, path: Path) -> None:
        """Records a file the outputs depend on that is not a Python import.

        Python files are compared by syntax tree, others byte for byte.
        """
        path = Path(path).resolve()
        self.files_read[path.relative_to(self.root.resolve()).as_posix()] = file_hash(path)

    def model(self, name: str):
        """The trained model of experiment `name` (a `vae.checkpoint.Run`).

        The script must list `name` in its MODELS, so that the scheduler has
        trained it before the script runs.

        Raises:
            VAEError: the model is not declared, or not in the store.
        """
        from vae.errors import CheckpointError

        if name not in self.declared:
            raise VAEError(f"figures/{self.name}.py asks for {name!r}: add it to MODELS")
        try:
            run, key = self._store.load(name)
        except CheckpointError as e:
            raise VAEError(f"model {name} is not in the store ({e})") from None
        self.models[name] = key
        return run

    def dataset(self, name: str = "mnist5k"):
        """A dataset by name (a `vae.data.Dataset`)."""
        from vae.data import load_dataset

        self.datasets[name] = datafiles.source_id(name)
        return load_dataset(name)

    def save(self, filename: str, data: bytes) -> None:
        """Saves raw bytes as output `filename`."""
        if "/" in filename or filename.startswith((".", "_")) or filename in (NUMBERS, WORDS):
            raise VAEError(f"{self.name}: bad output name {filename!r}")
        self.files[filename] = data

    def _check_key(self, key: str) -> None:
        if not key.isidentifier():
            raise VAEError(f"{self.name}: key {key!r} must be an identifier")
        if key in self.numbers or key in self.recorded_words:
            raise VAEError(f"{self.name}: {key} is recorded twice")

    def number(self, key: str, value: int | float) -> None:
        """Records a number the prose quotes as `{{ NAME.KEY }}`.

        Raises:
            VAEError: the key is not an identifier or is taken; the value is not
                a finite int or float (words go to `words`); or its type differs
                from the last build's (convert it with int() or float()).
        """
        self._check_key(key)
        if hasattr(value, "item") and callable(value.item):  # a numpy or torch scalar
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VAEError(
                f"{self.name}: number {key} is a {_type_name(value)}, not an int or a float"
                " (record words with ctx.words)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise VAEError(f"{self.name}: number {key} is {value}")
        before = self._previous_types.get(key)
        if before is not None and before != _type_name(value):
            raise VAEError(
                f"{self.name}: number {key} was a {before} in the last build and is a "
                f"{_type_name(value)} now; convert it with {before}() in the script"
            )
        self.numbers[key] = value

    def words(self, key: str, text: str) -> None:
        """Records words the prose quotes as `{{ NAME.KEY }}`, chosen from the numbers.

        Words are plain text: they go into the page after the math is found, so
        TeX in them would show as its source.

        Raises:
            VAEError: the key is not an identifier or is taken, `text` is not a
                string, or it holds TeX math.
        """
        self._check_key(key)
        if not isinstance(text, str):
            raise VAEError(f"{self.name}: words {key} must be a string, not {_type_name(text)}")
        if any(mark in text for mark in MATH_MARKS):
            raise VAEError(
                f"{self.name}: words {key} hold TeX math ({text!r}), which the page would show"
                " as source; write the symbols as plain text (σ₀, ‖)"
            )
        self.recorded_words[key] = text

    def outputs(self) -> dict[str, bytes]:
        """The files to write: the saved outputs, the numbers and the words."""
        files = dict(self.files)
        for filename, values in ((NUMBERS, self.numbers), (WORDS, self.recorded_words)):
            if values:
                files[filename] = (json.dumps(values, indent=2, sort_keys=True) + "\n").encode()
        return files
