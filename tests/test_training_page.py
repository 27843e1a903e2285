"""The page on how the models were trained (`vae.site.training_page`): every
model the figure scripts use is on it, and what it shows is read from the
configs and runs saved in the model store, not typed beside them."""

import dataclasses
import html
import json
import logging
import re

import pytest

from vae import config as vae_config
from vae.checkpoint import CONFIG_FILE, save_run
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.models import build_model
from vae.site import experiments, training_page
from vae.site.pages import trained_models
from vae.site.project import FigureScript, Project, discover
from vae.site.store import ModelStore

from .conftest import REPO

FIGURES = REPO / "figures"
TITLES = {"autoencoders.md": "1. Making an autoencoder generative", "results.md": "3. Results"}


def a_config(**train) -> RunConfig:
    settings = {"epochs": 35, "learning_rate": 2e-3, "precision": "bf16", **train}
    model = ModelConfig(kind="vae", hidden_sizes=(400,), latent_dim=2)
    return RunConfig(model, DataConfig(), TrainConfig(**settings))


def a_record(**changes) -> dict:
    return {
        "description": "variational autoencoder, 2-D code",
        "key": "0" * 64,
        "encoder": "784 → 400 ReLU → 2 means, 2 log-variances",
        "decoder": "2 → 400 ReLU → 784",
        "parameters": 631188,
        "optimizer": "Adam",
        "train_examples": 4500,
        "test_examples": 500,
        **changes,
    }


def row(markdown: str, name: str, heading: str) -> dict[str, str]:
    """{column: cell} of model `name`'s row in the table under `heading`."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    [line] = [line for line in lines if line.startswith(f"| `{name}` |")]
    header, cells = (line_.strip("| ").split(" | ") for line_ in (lines[0], line))
    return dict(zip(header, cells, strict=True))


def joined(cells: dict[str, str]) -> str:
    return "| " + " | ".join(cells.values()) + " |"


def tables(config: RunConfig, scripts=(), seconds: float = 9.5, **record) -> str:
    model = training_page.TrainedModel("vae-2d", a_record(**record), config, seconds)
    return training_page.markdown([model], list(scripts), TITLES)


# -- the set of models ----------------------------------------------------------------


def test_models_all_declares_every_experiment(tmp_path):
    (tmp_path / "every.py").write_text('PAGE = "training.md"\nMODELS = "all"\n')
    (tmp_path / "some.py").write_text('PAGE = "index.md"\nMODELS = ("vae-2d",)\n')
    every, some = discover(tmp_path)
    assert every.models == tuple(experiments.EXPERIMENTS)
    assert some.models == ("vae-2d",)
    [training] = [s for s in discover(FIGURES) if s.name == training_page.FIGURE]
    assert training.models == tuple(experiments.EXPERIMENTS)


def test_every_experiment_is_used_by_some_other_figure():
    """The training figure asks for every experiment; each must be on a page for
    a reason other than this table, and every model a script asks for is one."""
    used = {m for s in discover(FIGURES) if s.name != training_page.FIGURE for m in s.models}
    assert used == set(experiments.EXPERIMENTS)


def test_the_words_for_each_choice_cover_every_choice_a_config_offers():
    assert set(training_page.DATASET_NAMES) == set(vae_config.DATASETS)
    assert set(training_page.BINARIZATION_WORDS) == set(vae_config.BINARIZATIONS)
    assert set(training_page.PRECISION_WORDS) == set(vae_config.PRECISIONS)


# -- the tables follow the configs --------------------------------------------------------


HOW, WHAT, NETWORK = "How each was trained", "What each model is", "The networks"


@pytest.mark.parametrize(
    ("part", "field", "value", "heading", "before", "after"),
    [
        ("train", "precision", "fp32", HOW, "bfloat16", "float32"),
        ("train", "epochs", 12, HOW, "| 35 |", "| 12 |"),
        ("train", "learning_rate", 1e-3, HOW, "0.002", "0.001"),
        ("train", "batch_size", 64, HOW, "| 128 |", "| 64 |"),
        ("train", "seed", 7, HOW, "| 0 |", "| 7 |"),
        ("train", "beta", 4.0, WHAT, "| ELBO |", "β = 4"),
        ("data", "binarize", "continuous", WHAT, "afresh", "gray levels"),
        ("model", "likelihood", "gaussian", NETWORK, "Bernoulli logits", "Gaussian means, σ = 0.1"),
        ("model", "noise_sigma", 0.2, WHAT, "| ELBO |", "σ₀ = 0.2 fixed"),
        ("model", "likelihood", "gaussian-learned", NETWORK, "Bernoulli", "one learned σ"),
        ("model", "decoder", "autoregressive", NETWORK, "logits |", "the rows above it and"),
        ("model", "prior", "vamp", WHAT, "| ELBO |", "KL from the VampPrior"),
        ("model", "posterior", "flow", WHAT, "| ELBO |", "KL estimated at the drawn code"),
        ("train", "objective", "iwae", WHAT, "| ELBO |", "importance-weighted bound, k = 5"),
        ("train", "warmup_epochs", 10, WHAT, "| ELBO |", "rising from 0 over 10 epochs"),
        ("train", "free_bits", 0.5, WHAT, "| ELBO |", "free bits, 0.5 nats"),
        ("train", "commitment", 0.25, WHAT, "reconstruction − codebook − 1 ×", "0.25 ×"),
    ],
)
def test_a_changed_config_field_changes_the_table(part, field, value, heading, before, after):
    config = a_config()
    extra = {
        "noise_sigma": {"kind": "noisy-ae"},
        "objective": {"k": 5},
        "commitment": {},
    }.get(field, {})
    if field == "commitment":  # a VQ-VAE on both sides: only the weight changes
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, kind="vq-vae"))
    changes = {field: value, **extra}
    changed = dataclasses.replace(getattr(config, part), **changes)
    old = tables(config)
    new = tables(dataclasses.replace(config, **{part: changed}))
    old_row, new_row = (joined(row(t, "vae-2d", heading)) for t in (old, new))
    assert before in old_row and before not in new_row
    assert after in new_row and after not in old_row


def test_the_test_loss_and_its_fall_over_the_last_epochs_come_from_the_history():
    losses = (200.0, 180.0, 170.0, 165.0, 162.0, 160.5, 159.7)
    model = training_page.TrainedModel("vae-2d", a_record(), a_config(), 9.5, losses)
    cells = row(training_page.markdown([model], [], TITLES), "vae-2d", HOW)
    assert cells["Test loss"] == "159.7"
    fall = losses[-training_page.RECENT - 1] - losses[-1]  # e.g. 165 - 159.7 over three
    assert cells[f"Fall, last {training_page.RECENT} epochs"] == f"{fall:.1f}"
    assert training_page.RECENT < min(  # every site model shows its fall
        e.config.train.epochs for e in experiments.EXPERIMENTS.values()
    )
    short = training_page.TrainedModel("vae-2d", a_record(), a_config(), 9.5, (150.0, 140.0))
    assert row(training_page.markdown([short], [], TITLES), "vae-2d", HOW)["Test loss"] == "140.0"


def test_the_time_is_the_runs_and_the_total_adds_them():
    assert row(tables(a_config(), seconds=9.54), "vae-2d", HOW)["Time"] == "9.5 s"
    assert "Altogether, 9.5 s of training." in tables(a_config(), seconds=9.54)
    assert training_page.duration(185.2) == "3 min 05 s"


def test_each_model_lists_the_pages_and_scripts_that_use_it():
    scripts = [
        FigureScript("latent_maps", FIGURES / "latent_maps.py", "autoencoders.md", ("vae-2d",)),
        FigureScript("new_figure", FIGURES / "new_figure.py", "results.md", ("vae-2d",)),
        FigureScript("other", FIGURES / "other.py", "results.md", ("vae-20d",)),
        FigureScript("training", FIGURES / "training.py", "training.md", ("vae-2d",)),
    ]
    cells = row(tables(a_config(), scripts), "vae-2d", "Where each is used")
    pages, users = cells["Pages"], cells["Figure scripts"]
    assert pages == (
        "[1. Making an autoencoder generative](autoencoders.md), [3. Results](results.md)"
    )
    assert users == (
        "[latent_maps](figure-scripts.md#latent_maps), [new_figure](figure-scripts.md#new_figure)"
    )
    unused = row(tables(a_config(), scripts[2:]), "vae-2d", "Where each is used")
    assert (unused["Pages"], unused["Figure scripts"]) == ("none", "none")


# -- what the figure records, from a built model -------------------------------------------


@pytest.mark.parametrize(
    ("kind", "heads", "parameters"),
    [
        # 784*300+300 + 300*100+100 + heads (100*5+5 each) + 5*100+100 + 100*300+300 + 300*784+784
        ("ae", "5 means", 235500 + 30100 + 505 + 600 + 30300 + 235984),
        ("vae", "5 means, 5 log-variances", 235500 + 30100 + 2 * 505 + 600 + 30300 + 235984),
    ],
)
def test_the_record_describes_the_network_as_built(kind, heads, parameters):
    config = ModelConfig(kind=kind, hidden_sizes=(300, 100), latent_dim=5)
    run = type("Run", (), {"model": build_model(config)})
    data = type("Data", (), {"train_images": [0] * 45, "test_images": [0] * 5})
    record = training_page.record(run, "k", "a model", "Adam", data)
    assert record["encoder"] == f"784 → 300 ReLU → 100 ReLU → {heads}"
    assert record["decoder"] == "5 → 100 ReLU → 300 ReLU → 784"
    assert record["parameters"] == parameters
    assert (record["train_examples"], record["test_examples"]) == (45, 5)


def test_the_record_of_a_vq_vae_names_its_codebook():
    config = ModelConfig(
        kind="vq-vae", hidden_sizes=(30,), latent_dim=6, code_groups=3, codebook_size=7
    )
    run = type("Run", (), {"model": build_model(config)})
    data = type("Data", (), {"train_images": [0], "test_images": [0]})
    record = training_page.record(run, "k", "a model", "Adam", data)
    assert record["encoder"] == (
        "784 → 30 ReLU → 6 outputs z_e, each 2 quantised to the nearest of 7 codebook vectors"
    )


@pytest.mark.parametrize(
    ("posterior", "ending"),
    [
        ("full", "5 means, 5 log-variances, 10 Cholesky off-diagonals"),
        ("flow", "5 means, 5 log-variances, then 3 affine coupling layers"),
    ],
)
def test_the_record_names_a_richer_q(posterior, ending):
    layers = {"flow_layers": 3} if posterior == "flow" else {}
    config = ModelConfig(hidden_sizes=(30,), latent_dim=5, posterior=posterior, **layers)
    run = type("Run", (), {"model": build_model(config)})
    data = type("Data", (), {"train_images": [0], "test_images": [0]})
    record = training_page.record(run, "k", "a model", "Adam", data)
    assert record["encoder"] == f"784 → 30 ReLU → {ending}"
    assert record["parameters"] == sum(p.numel() for p in run.model.parameters())


def test_the_record_counts_the_autoregressive_weights_the_decoder_reads():
    """W is 784 x 784, but only its 784 * 783 / 2 entries below the diagonal are read."""
    config = ModelConfig(hidden_sizes=(30,), latent_dim=5)
    data = type("Data", (), {"train_images": [0], "test_images": [0]})
    counts = []
    for decoder in ("mlp", "autoregressive"):
        run = type("Run", (), {"model": build_model(dataclasses.replace(config, decoder=decoder))})
        record = training_page.record(run, "k", "a model", "Adam", data)
        assert record["decoder"] == "5 → 30 ReLU → 784"
        counts.append(record["parameters"])
    assert counts[1] - counts[0] == 784 * 783 // 2


def test_precision_words_count_the_runs():
    assert training_page.precision_words(["bf16"] * 6 + ["fp32"] * 8) == (
        "six used bfloat16 matrix products and eight float32 throughout"
    )
    assert training_page.precision_words(["fp32"] * 14) == "all used float32 throughout"
    assert training_page.precision_words(["bf16"] * 2) == "all used bfloat16 matrix products"


# -- read from the store ------------------------------------------------------------------


def saved_run(project: Project, name: str, config: RunConfig, seconds: list[float]) -> None:
    """A run in `project`'s store under a made-up key, and the figure's record of it."""
    key = f"{len(name):064d}"
    history = [{"epoch": i + 1, "seconds": s} for i, s in enumerate(seconds)]
    path = ModelStore(project.models_dir).path(name, key)
    save_run(path, build_model(config.model), config, history, "fingerprint")
    out = project.figures_out / training_page.FIGURE / training_page.RECORD
    out.parent.mkdir(parents=True, exist_ok=True)
    records = json.loads(out.read_text()) if out.is_file() else {}
    out.write_text(json.dumps({**records, name: a_record(key=key)}))


def test_the_page_shows_the_config_saved_beside_the_weights(tmp_path):
    project = Project(tmp_path, "quick", tmp_path / "cache")
    saved_run(project, "vae-2d", a_config(epochs=2, precision="fp32"), [1.25, 2.5])
    [model] = training_page.load(project)
    assert model.config.train.precision == "fp32" and model.seconds == 3.75
    # The saved config.json is what counts, whatever the experiment says today.
    [run_dir] = project.models_dir.glob("vae-2d-*")
    saved = json.loads((run_dir / CONFIG_FILE).read_text())
    saved["train"].update(precision="bf16", epochs=3)
    (run_dir / CONFIG_FILE).write_text(json.dumps(saved))
    cells = row(training_page.markdown(training_page.load(project), [], {}), "vae-2d", HOW)
    shown = (cells["Epochs"], cells["Precision"], cells["Time"])
    assert shown == ("3", "bfloat16", "3.8 s")


def test_without_a_record_the_page_warns(tmp_path, monkeypatch, caplog):
    """A warning on a logger under "mkdocs" fails the strict build."""
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VAE_PROFILE", "quick")
    with caplog.at_level(logging.WARNING, logger="mkdocs.vae.pages"):
        text = trained_models(tmp_path, [], {})
    assert text.startswith('!!! failure "The trained models cannot be listed"')
    assert "python -m vae figures" in caplog.text
    saved_run(Project(tmp_path, "quick"), "vae-2d", a_config(), [1.0])
    assert "| `vae-2d` |" in trained_models(tmp_path, [], {})


# -- the built page --------------------------------------------------------------------


def html_rows(page: str, heading_id: str) -> dict[str, dict[str, str]]:
    """{model: {column: text}} in the first table after the heading `heading_id`."""
    table = page.split(f'id="{heading_id}"', 1)[1].split("</table>", 1)[0]

    def texts(pattern: str, text: str) -> list[str]:
        found = re.findall(pattern, text, flags=re.S)
        return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]

    header = texts(r"<th[^>]*>(.*?)</th>", table)
    rows = [texts(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return {cells[0]: dict(zip(header, cells, strict=True)) for cells in rows if cells}


@pytest.mark.slow
def test_the_built_page_matches_the_saved_configs(built_site):
    root, _ = built_site
    page = (root / "site" / "training" / "index.html").read_text()
    trained = html_rows(page, "how-each-was-trained")
    used = {m for s in discover(root / "figures") for m in s.models}
    assert set(trained) == used == set(experiments.EXPERIMENTS)
    record = root / "cache" / "quick" / "figures" / training_page.FIGURE / training_page.RECORD
    keys = {name: entry["key"] for name, entry in json.loads(record.read_text()).items()}
    store = ModelStore(root / "cache" / "models")
    for name, cells in trained.items():
        run_dir = store.path(name, keys[name])
        saved = json.loads((run_dir / CONFIG_FILE).read_text())["train"]
        assert cells["Epochs"] == str(saved["epochs"]), name
        assert cells["Precision"] == training_page.PRECISION_WORDS[saved["precision"]], name
        assert re.fullmatch(r"\d+\.\d s", cells["Time"]), name
    assert "{{" not in page and "cannot be listed" not in page


def test_a_conv_network_is_described_by_its_channels_kernels_and_strides():
    model = build_model(ModelConfig(network="conv", latent_dim=20))
    assert training_page.layers(model.encoder.body) == (
        "conv 16, 4×4 stride 2 ReLU → conv 32, 4×4 stride 2 ReLU"
    )
    assert training_page.layers(model.decoder.body) == (
        "20 → 1568 ReLU → transposed conv 16, 4×4 stride 2 ReLU"
    )
    assert training_page.output_width(model.decoder.output) == "transposed conv 1, 4×4 stride 2"
