"""The command line: a train/eval round trip and one-line errors."""

import errno
import json
import subprocess
import sys

import pytest

from vae import atomic, precision
from vae.checkpoint import check_run
from vae.cli import main

SMALL = ["--hidden", "16", "--epochs", "1", "--device", "cpu"]


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "vae",
        "--hidden",
        "64",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    assert "test ELBO" in capsys.readouterr().out
    assert main(["eval", str(out), "--iwae-k", "5", "--json", "--device", "cpu"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["test_elbo"] < numbers["test_iwae_k5"] < 0
    config, *_ = check_run(out)
    assert config.data.binarize == "dynamic"  # the default: gray levels are not Bernoulli data
    assert config.train.precision == "fp32"


def test_an_existing_run_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--seed", "1", "--out", str(out)]) == 0
    before = (out / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["train", *SMALL, "--seed", "2", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {out} already holds a run; pass --force to replace it\n"
    )
    assert (out / "model.safetensors").read_bytes() == before
    assert main(["train", *SMALL, "--seed", "2", "--out", str(out), "--force"]) == 0
    assert (out / "model.safetensors").read_bytes() != before


def test_a_directory_with_other_files_is_never_replaced(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):
        assert main(["train", *SMALL, "--out", str(tmp_path), *force]) == 2
        assert capsys.readouterr().err == (
            f"error: {tmp_path} is not empty and holds no run; choose another --out\n"
        )
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert main(["train", *SMALL, "--out", str(tmp_path / "empty")]) == 0


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The disk fills up while the weights are written."""

    class FullDisk:
        def __init__(self, path, mode):
            self.file = open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: could not save {out}: No space left on device; nothing was saved\n"
    assert list(tmp_path.iterdir()) == []


def test_a_diverging_run_is_one_line_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--lr", "1e6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training stopped in epoch 1: the test loss diverged to ")
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_bf16_on_a_cpu_without_it_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision, "supports_bf16", lambda device: False)
    assert main(["train", *SMALL, "--precision", "bf16", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == (
        "error: precision bf16: this cpu has no bfloat16 matrix products; train in fp32\n"
    )


def test_eval_of_an_autoencoder_has_no_iwae(tmp_path, capsys):
    out = tmp_path / "ae"
    assert (
        main(["train", "--model", "ae", "--hidden", "32", "--epochs", "1", "--out", str(out)]) == 0
    )
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    assert "no IWAE bound" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0", "--out", "x"], "expected a positive integer, got 0"),
        (["train", "--model", "gan", "--out", "x"], "invalid choice: 'gan'"),
        (["train", "--hidden", "a,b", "--out", "x"], "expected widths like 512,256"),
        (["train", "--beta", "-1", "--out", "x"], "expected a number >= 0"),
        (["train", "--lr", "0", "--out", "x"], "error: learning rate must be > 0 and finite"),
        (["train", "--noise-sigma", "-1", "--out", "x"], "error: noise_sigma and observation"),
        (["train", "--precision", "fp8", "--out", "x"], "invalid choice: 'fp8'"),
        (["train"], "the following arguments are required: --out"),
        (["eval", "/no/such/run"], "no such run directory"),
        (
            ["train", "--dataset", "mnist", "--data-dir", "/no/dir", "--out", "x"],
            "the four IDX files were not found",
        ),
    ],
)
def test_bad_input_is_one_line_and_nonzero(argv, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vae", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_data_where_lists_every_dataset(capsys, tmp_path):
    assert main(["data", "where", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mnist5k: embedded")
    assert "mnist: not found" in out and "fashion-mnist: not found" in out


def test_importing_the_package_is_cheap():
    code = "import sys, vae; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_the_parser_imports_no_torch():
    """So `--help` and a mistyped option answer without the seconds torch takes to load."""
    code = "import sys, vae.cli; vae.cli.build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
