"""The command line: a train/eval round trip and one-line errors."""

import json
import subprocess
import sys

import pytest

from vae.cli import main


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
