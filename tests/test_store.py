"""The model store and its keys: what retrains a model, what does not, and
that a model is trained once however many processes ask for it.

Each broken version named in a test's docstring makes that test fail.
"""

import ast
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from vae import data
from vae.site import experiments, fingerprint
from vae.site.fingerprint import import_closure, source_hash
from vae.site.project import FigureScript, Project
from vae.site.scheduler import plan
from vae.site.store import ModelStore, model_key

from .conftest import REPO


@pytest.fixture
def package(tmp_path):
    """A copy of the package whose files a test may edit."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "vae", root / "vae", ignore=shutil.ignore_patterns("__pycache__"))
    return root / "vae"


def append(path, text):
    path.write_text(path.read_text() + text)


def test_editing_the_training_code_changes_the_key(package):
    """Broken version: a key that ignores the training code."""
    before = model_key("vae-2d", "quick", package)
    append(package / "train.py", "\n\ndef _added():\n    return 1\n")
    assert model_key("vae-2d", "quick", package) != before


def test_editing_a_module_the_trainer_imports_changes_the_key(package):
    """Broken version: an import closure that returns only the module itself."""
    closure = import_closure("vae.train", package)
    assert {"vae.train", "vae.models", "vae.objectives", "vae.data"} <= set(closure)
    before = model_key("vae-2d", "quick", package)
    append(package / "objectives.py", "\n\nEXTRA = 1\n")
    assert model_key("vae-2d", "quick", package) != before


def test_facts_handed_to_a_worker_hold_for_their_file_version_only(package, monkeypatch):
    """Broken versions: a worker that parses every module again although its
    parent hands it the facts; one that takes a handed fact for a file edited since."""
    train = package / "train.py"
    rows = fingerprint.known([train])
    monkeypatch.setattr(fingerprint, "_FACTS", {})  # a fresh worker
    fingerprint.remember([[*row[:3], "handed", row[4]] for row in rows])
    assert source_hash(train) == "handed"  # taken, not parsed again
    append(train, "\n\nEXTRA = 1\n")
    assert source_hash(train) not in ("handed", rows[0][3])  # the edit is parsed


def test_plotting_code_comments_and_docstrings_change_no_key(package):
    before = model_key("vae-2d", "quick", package)
    append(package / "site" / "plotting.py", "\n\ndef _added():\n    return 1\n")
    append(package / "train.py", "\n# a comment\n")
    train = package / "train.py"
    source = train.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    train.write_text(source.replace(docstring, docstring + " More words.", 1))
    assert model_key("vae-2d", "quick", package) == before


def test_the_key_follows_config_profile_and_device(package):
    keys = {
        model_key("vae-2d", "quick", package),
        model_key("vae-2d", "full", package),
        model_key("ae-2d", "quick", package),
        model_key("vae-2d", "quick", package, device="cuda"),
    }
    assert len(keys) == 4


def test_the_key_and_the_saved_config_name_the_precision_the_model_trained_in(
    tmp_path, monkeypatch
):
    """Broken version: a key that names only the device, so that a cache moved from a
    machine with native bfloat16 to one without returns a model trained another way."""
    from vae.checkpoint import load_run
    from vae.models import build_model

    keys, saved = {}, {}
    for native in (True, False):
        monkeypatch.setattr(experiments, "native_bf16", lambda device, n=native: n)
        keys[native] = model_key("vae-2d", "quick")
        config = experiments.get("vae-2d").run_config("quick")
        store = ModelStore(tmp_path / str(native), "quick")
        path = store.save("vae-2d", build_model(config.model), config, [], "data")
        saved[native] = load_run(path).config.train.precision
    assert keys[True] != keys[False]
    assert saved == {True: "bf16", False: "fp32"}


@pytest.mark.parametrize("library, retrains", [("matplotlib", False), ("torch", True)])
def test_only_the_libraries_that_do_the_arithmetic_are_in_the_model_key(
    monkeypatch, library, retrains
):
    """Broken version: the plotting library's version in every model key, so that
    upgrading matplotlib retrains every model."""
    import importlib.metadata

    from vae import versions
    from vae.site.scheduler import library_versions as figure_versions_of

    real = importlib.metadata.version
    before = model_key("vae-2d", "quick")
    figures_before = figure_versions_of(versions.FIGURE_LIBRARIES)
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "99.0" if name == library else real(name)
    )
    versions._versions.cache_clear()
    try:
        assert (model_key("vae-2d", "quick") != before) is retrains
        # A figure depends on both: its record compares them all.
        assert figure_versions_of(versions.FIGURE_LIBRARIES) != figures_before
    finally:
        monkeypatch.undo()
        versions._versions.cache_clear()


def test_dynamic_binarization_draws_afresh_every_epoch(monkeypatch):
    """Broken version: dynamic binarization that stops re-drawing every epoch."""
    from vae import train as train_module
    from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig

    draws = []
    real = train_module.binarize

    def recording(probabilities, generator=None):
        result = real(probabilities, generator)
        if result.shape[0] > 100:  # the training set, not a test batch
            draws.append(result.clone())
        return result

    monkeypatch.setattr(train_module, "binarize", recording)
    dataset = data.load_dataset("mnist5k")
    config = RunConfig(
        ModelConfig(kind="vae", hidden_sizes=(16,), latent_dim=2),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3, batch_size=500),
    )
    train_module.train(config, dataset, "cpu", progress=False)
    assert len(draws) == 3
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    # Each draw is a binarization of the same gray levels: the same mean, near enough.
    assert abs(draws[0].mean().item() - draws[1].mean().item()) < 1e-2


def test_a_damaged_model_is_planned_for_training_again(tmp_path):
    project = Project(REPO, "quick", tmp_path / "cache")
    store = ModelStore(project.models_dir, "quick", project.package_dir)
    script = FigureScript("uses_vae", tmp_path / "uses_vae.py", None, ("vae-2d",))
    script.path.write_text("def make(ctx):\n    pass\n")
    tasks, _ = plan(project, [script])
    assert [t.name for t in tasks if t.kind == "model"] == ["vae-2d"]
    # A stored copy with the right checksum is used; a damaged one is not.
    from vae.config import RunConfig
    from vae.models import build_model

    config = experiments.get("vae-2d").run_config("quick")
    store.save("vae-2d", build_model(config.model), config, [], "fingerprint")
    assert store.has("vae-2d")
    tasks, _ = plan(project, [script])
    assert [t.kind for t in tasks] == ["figure"]
    weights = store.path("vae-2d") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    assert not store.has("vae-2d")
    tasks, _ = plan(project, [script])
    assert [t.name for t in tasks if t.kind == "model"] == ["vae-2d"]
    assert RunConfig.from_dict(json.loads((store.path("vae-2d") / "config.json").read_text()))


@pytest.mark.slow
def test_two_processes_asking_for_one_model_train_it_once(tmp_path):
    requests = []
    for i in range(2):
        result_dir = tmp_path / f"result-{i}"
        request = {
            "kind": "model",
            "name": "ae-2d",
            "script": None,
            "page": None,
            "models": [],
            "root": str(REPO),
            "profile": "quick",
            "cache": str(tmp_path / "cache"),
            "device": "cpu",
            "result_dir": str(result_dir),
        }
        path = tmp_path / f"request-{i}.json"
        path.write_text(json.dumps(request))
        requests.append((path, result_dir))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen([sys.executable, "-m", "vae.site.worker", str(path)], env=env)
        for path, _ in requests
    ]
    for process in processes:
        assert process.wait(timeout=300) == 0
    statuses = sorted(
        json.loads((result_dir / "result.json").read_text())["status"] for _, result_dir in requests
    )
    assert statuses == ["cached", "ran"]
    assert len(list((tmp_path / "cache" / "models").glob("ae-2d-*"))) == 1
