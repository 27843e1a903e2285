"""The command line: a train/eval round trip and one-line errors."""

import hashlib
import json
import subprocess
import sys

import pytest

from vae import atomic, datafiles, precision
from vae import train as train_module
from vae.checkpoint import check_run, load_run
from vae.cli import main

from .conftest import FullDiskFile, make_idx_files

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


def test_train_on_the_iwae_bound(tmp_path, capsys):
    out = tmp_path / "iwae"
    assert main(["train", *SMALL, "--objective", "iwae", "--k", "3", "--out", str(out)]) == 0
    config, history, *_ = check_run(out)
    assert (config.train.objective, config.train.k) == ("iwae", 3)
    assert "test_elbo" in history[0]


def test_train_and_eval_a_flow_posterior(tmp_path, capsys):
    out = tmp_path / "flow"
    argv = ["train", *SMALL, "--posterior", "flow", "--flow-layers", "2", "--out", str(out)]
    assert main(argv) == 0
    config, *_ = check_run(out)
    assert (config.model.posterior, config.model.flow_layers) == ("flow", 2)
    capsys.readouterr()
    assert main(["eval", str(out), "--iwae-k", "5", "--json", "--device", "cpu"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["test_elbo"] < numbers["test_iwae_k5"] < 0


def test_train_a_vampprior_and_sample_it(tmp_path, capsys):
    out = tmp_path / "vamp"
    argv = ["train", *SMALL, "--prior", "vamp", "--prior-components", "3", "--out", str(out)]
    assert main(argv) == 0
    run = load_run(out)
    assert (run.config.model.prior, run.config.model.prior_components) == ("vamp", 3)
    assert run.model.prior.pseudo_inputs().shape == (3, 28, 28)
    assert run.model.sample_prior(2).shape == (2, 28, 28)


def test_train_a_sigma_vae_on_gray_digits(tmp_path, capsys):
    out = tmp_path / "sigma"
    argv = [*SMALL, "--likelihood", "gaussian-learned", "--observation-sigma", "0.5"]
    assert main(["train", *argv, "--binarize", "continuous", "--out", str(out)]) == 0
    run = load_run(out)
    assert (run.config.model.likelihood, run.config.model.observation_sigma) == (
        "gaussian-learned",
        0.5,
    )
    assert 0 < run.model.log_sigma.exp().item() < 0.5


def test_train_with_kl_annealing_and_free_bits(tmp_path, capsys):
    out = tmp_path / "annealed"
    argv = ["train", *SMALL, "--warmup-epochs", "3", "--free-bits", "0.25", "--out", str(out)]
    assert main(argv) == 0
    config, history, *_ = check_run(out)
    assert (config.train.warmup_epochs, config.train.free_bits) == (3, 0.25)
    assert history[0]["beta"] == 0.0


def test_train_and_eval_a_vq_vae(tmp_path, capsys):
    out = tmp_path / "vq"
    argv = [*SMALL, "--model", "vq-vae", "--latent-dim", "4", "--code-groups", "2"]
    assert main(["train", *argv, "--codebook-size", "32", "--out", str(out)]) == 0
    config, *_ = check_run(out)
    assert (config.model.kind, config.model.codebook_size, config.model.code_groups) == (
        "vq-vae",
        32,
        2,
    )
    capsys.readouterr()
    assert main(["eval", str(out), "--device", "cpu"]) == 0
    assert "its IWAE bound is its ELBO" in capsys.readouterr().out


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
            f"error: {tmp_path} holds files no run writes (notes.txt); choose another --out\n"
        )
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert main(["train", *SMALL, "--out", str(tmp_path / "empty")]) == 0


def test_force_keeps_a_note_put_in_a_run(tmp_path, capsys):
    """A real run with one file of the user's beside it is no longer only a run."""
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 0
    weights = (out / "model.safetensors").read_bytes()
    (out / "notes.md").write_text("lr 1e-3 was too slow")
    capsys.readouterr()
    assert main(["train", *SMALL, "--seed", "3", "--out", str(out), "--force"]) == 2
    assert capsys.readouterr().err == (
        f"error: {out} holds files no run writes (notes.md); choose another --out\n"
    )
    assert (out / "notes.md").read_text() == "lr 1e-3 was too slow"
    assert (out / "model.safetensors").read_bytes() == weights


def test_force_keeps_a_project_that_has_a_config_json(tmp_path, capsys):
    """A config.json alone does not make a run: the project beside it stays."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('hello')\n")
    (project / "config.json").write_text("{}")
    for force in ([], ["--force"]):
        assert main(["train", *SMALL, "--out", str(project), *force]) == 2
        assert capsys.readouterr().err == (
            f"error: {project} holds files no run writes (src); choose another --out\n"
        )
    (project / "src" / "main.py").unlink()
    (project / "src").rmdir()
    assert main(["train", *SMALL, "--out", str(project), "--force"]) == 2
    assert capsys.readouterr().err == (
        f"error: {project} is not a whole run (no model.safetensors, history.json, meta.json); "
        "choose another --out\n"
    )
    assert sorted(p.name for p in project.iterdir()) == ["config.json"]
    assert (project / "config.json").read_text() == "{}"


def test_a_file_put_in_out_while_training_is_kept(tmp_path, capsys, monkeypatch):
    """--out is checked again just before saving: training takes minutes."""
    out = tmp_path / "run"
    real_train = train_module.train

    def train_while_a_note_arrives(*args, **kwargs):
        result = real_train(*args, **kwargs)
        out.mkdir()
        (out / "todo.txt").write_text("compare with beta 2")
        return result

    monkeypatch.setattr(train_module, "train", train_while_a_note_arrives)
    assert main(["train", *SMALL, "--out", str(out), "--force"]) == 2
    assert "holds files no run writes (todo.txt)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["todo.txt"]


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The disk fills up while the weights are written."""

    monkeypatch.setattr(atomic, "open", FullDiskFile, raising=False)
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: could not save {out}: No space left on device; nothing was saved\n"
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_got_worse_is_one_line_and_saves_nothing(tmp_path, capsys):
    """The issue's run: --lr 1 for one epoch ends with a test ELBO near -940 nats,
    against about -553 for the untrained model."""
    out = tmp_path / "run"
    argv = ["train", "--epochs", "1", "--lr", "1", "--device", "cpu", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training made the model worse: its test loss rose from ")
    assert err.endswith(" after 1 epoch; try a lower learning rate\n")
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_a_diverging_run_is_one_line_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--lr", "1e6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training stopped in epoch 1: the test loss diverged to ")
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_files_of_another_dataset_are_one_line(tmp_path, capsys, monkeypatch):
    """--dataset mnist pointed at files whose MD5s Fashion-MNIST published."""
    files = tmp_path / "files"
    make_idx_files(files)
    published = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in files.iterdir()}
    monkeypatch.setitem(datafiles.MD5, "fashion-mnist", published)
    out = tmp_path / "run"
    assert (
        main(["train", *SMALL, "--dataset", "mnist", "--data-dir", str(files), "--out", str(out)])
        == 2
    )
    assert capsys.readouterr().err == (
        f"error: {files / 'train-images-idx3-ubyte.gz'} is a fashion-mnist file, by its "
        "published MD5, not mnist; choose --dataset fashion-mnist or other files\n"
    )
    assert not out.exists()


def test_bf16_on_a_cpu_without_it_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision, "supports_bf16", lambda device: False)
    assert main(["train", *SMALL, "--precision", "bf16", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == (
        "error: precision bf16: this cpu has no native bfloat16 matrix products; train in fp32\n"
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
        (["train", "--hidden", ",", "--out", "x"], "expected widths like 512,256, got ','"),
        (["train", "--hidden", "", "--out", "x"], "expected widths like 512,256, got ''"),
        (["train", "--hidden", "400,", "--out", "x"], "expected widths like 512,256"),
        (["train", "--hidden", "0", "--out", "x"], "widths must be positive"),
        (
            ["train", "--seed", "99999999999999999999", "--out", "x"],
            "error: seed must be from 0 to 4294967295 (2**32 - 1), got 99999999999999999999",
        ),
        (["train", "--seed", "-1", "--out", "x"], "error: seed must be from 0 to 4294967295"),
        (["train", "--beta", "-1", "--out", "x"], "expected a number >= 0"),
        (["train", "--lr", "0", "--out", "x"], "error: learning rate must be > 0 and finite"),
        (["train", "--noise-sigma", "-1", "--out", "x"], "error: noise_sigma and observation"),
        (["train", "--precision", "fp8", "--out", "x"], "invalid choice: 'fp8'"),
        (
            ["train", "--model", "ae", "--objective", "iwae", "--k", "5", "--out", "x"],
            "error: the iwae objective needs an encoder that learns its variance",
        ),
        (["train", "--k", "5", "--out", "x"], "error: k = 5 samples is for the iwae objective"),
        (["train", "--free-bits", "-1", "--out", "x"], "expected a number >= 0"),
        (["train", "--warmup-epochs", "-1", "--out", "x"], "expected an integer >= 0, got -1"),
        (
            ["train", "--posterior", "flow", "--free-bits", "1", "--out", "x"],
            "error: free bits need a KL per latent dimension",
        ),
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
