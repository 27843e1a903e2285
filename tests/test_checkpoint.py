"""Checkpoints: a round trip rebuilds the model; damage is detected; writes are atomic."""

import json
import subprocess
import sys
import time

import pytest
import torch

from vae.atomic import write_atomically
from vae.checkpoint import RUN_FILES, WEIGHTS_FILE, foreign_entries, load_run, save_run
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.data import load_dataset
from vae.errors import CheckpointError
from vae.train import train


@pytest.fixture(scope="module")
def trained():
    config = RunConfig(
        ModelConfig(kind="vae", hidden_sizes=(64,), latent_dim=2),
        DataConfig("mnist5k", "fixed"),
        TrainConfig(epochs=1),
    )
    dataset = load_dataset("mnist5k")
    model, history = train(config, dataset, progress=False)
    return model, config, history, dataset.fingerprint


def test_round_trip(tmp_path, trained):
    model, config, history, fingerprint = trained
    save_run(tmp_path / "run", model, config, history, fingerprint)
    run = load_run(tmp_path / "run")
    assert run.config == config
    assert run.history == history
    assert run.meta["data_fingerprint"] == fingerprint
    assert run.meta["versions"]["torch"] == torch.__version__
    z = torch.randn(5, 2)
    torch.testing.assert_close(run.model.decode_mean(z), model.decode_mean(z), rtol=0, atol=0)
    assert not run.model.training


def test_overwriting_replaces_the_whole_run(tmp_path, trained):
    model, config, history, fingerprint = trained
    save_run(tmp_path / "run", model, config, history, fingerprint)
    (tmp_path / "run" / "stray.txt").write_text("old")
    save_run(tmp_path / "run", model, config, history, fingerprint)
    assert not (tmp_path / "run" / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_foreign_entries_are_all_but_a_runs_own_files(tmp_path, trained):
    run = save_run(tmp_path / "run", *trained)
    assert sorted(p.name for p in run.iterdir()) == sorted(RUN_FILES)
    assert foreign_entries(run) == []
    (run / "notes.txt").write_text("mine")
    (run / "src").mkdir()
    assert foreign_entries(run) == ["notes.txt", "src"]
    (run / "notes.txt").unlink()
    (run / "src").rmdir()
    # A run file's name is not enough: a directory, or a link, under it is foreign.
    (run / "history.json").unlink()
    (run / "history.json").mkdir()
    assert foreign_entries(run) == ["history.json"]
    (run / "history.json").rmdir()
    (run / "history.json").symlink_to(run / "meta.json")
    assert foreign_entries(run) == ["history.json"]


def test_corrupted_weights_are_detected(tmp_path, trained):
    save_run(tmp_path / "run", *trained)
    path = tmp_path / "run" / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_run(tmp_path / "run")


def test_incomplete_and_missing_runs(tmp_path, trained):
    with pytest.raises(CheckpointError, match="no such run"):
        load_run(tmp_path / "absent")
    save_run(tmp_path / "run", *trained)
    (tmp_path / "run" / "history.json").unlink()
    with pytest.raises(CheckpointError, match=r"missing history\.json"):
        load_run(tmp_path / "run")


def test_weights_that_do_not_fit_the_config(tmp_path, trained):
    save_run(tmp_path / "run", *trained)
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    config["model"]["latent_dim"] = 7
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_run(tmp_path / "run")


def test_a_failed_write_leaves_nothing(tmp_path):
    files = {"a.json": b"{}", "b.bin": None}  # writing None raises half-way
    with pytest.raises(TypeError):
        write_atomically(tmp_path / "run", files)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writer_leaves_no_loadable_run(tmp_path):
    """kill -9 in the middle of writing: the final name never appears."""
    script = f"""
import os, time, vae.checkpoint as c
real_fsync = os.fsync
def slow_fsync(fd):
    real_fsync(fd)
    open({str(tmp_path / "started")!r}, 'w').close()
    time.sleep(60)
os.fsync = slow_fsync
c.write_atomically(c.Path({str(tmp_path / "run")!r}), {{'a': b'1', 'b': b'2'}})
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (tmp_path / "run").exists()
    with pytest.raises(CheckpointError):
        load_run(tmp_path / "run")
