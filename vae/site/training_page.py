"""The page on how the site's models were trained, written from the runs themselves.

`figures/training.py` asks for every experiment (`MODELS = "all"`) and
records, for each, what only the trained model can say (`record`, saved as
RECORD): the cache key of the run it used, the network's layers as built,
its parameter count, the optimizer the trainer builds and the size of the
data. When the page is rendered, the Markdown extension `vae.site.pages`
replaces MARKER with four tables (`markdown`): what each model is, its
network, how it was trained, and where the site uses it. The settings come
from each run's saved config.json (the precision it actually trained in
included), the time from its history.json, and the users from the figure
scripts' declarations:

- the time is a measurement, different in every training run, so it stays out
  of the figure's outputs, which are the same bytes from build to build;
- the users are read when the page is rendered, so that a new script that asks
  for a model is listed at once, without rerunning the figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vae.config import RunConfig
from vae.errors import VAEError
from vae.words import count_words

if TYPE_CHECKING:
    from vae.site.project import FigureScript, Project

MARKER = "<!-- the trained models, generated -->"
FIGURE = "training"  # the figure script that records the runs
RECORD = "models.json"  # its output: {experiment: what the trained model says}
SCRIPTS_PAGE = "figure-scripts.md"  # where each script has a section, anchored by name

# How each choice of the configs reads in a table cell.
DATASET_NAMES = {"mnist5k": "MNIST subset", "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
BINARIZATION_WORDS = {
    "dynamic": "binarized afresh each epoch",
    "fixed": "binarized once",
    "continuous": "gray levels",
}
PRECISION_WORDS = {"bf16": "bfloat16", "fp32": "float32"}
RECENT = 3  # epochs over which the fall of the test loss shows whether a model still learns
# The tables' columns, the most asked-for first: a wide table scrolls sideways.
WHAT_COLUMNS = ("Model", "What it is", "Objective", "Data")
NETWORK_COLUMNS = ("Model", "Encoder", "Decoder", "Parameters")
HOW_COLUMNS = (
    "Model",
    "Epochs",
    "Test loss",
    f"Fall, last {RECENT} epochs",
    "Precision",
    "Time",
    "Optimizer",
    "Learning rate",
    "Batch",
    "Seed",
)
WHERE_COLUMNS = ("Model", "Pages", "Figure scripts")
# The encoder's heads, in the order they are listed, as the code names them.
HEADS = {"mean": "means", "logvar": "log-variances", "lower": "Cholesky off-diagonals"}


# -- what the figure records, from the trained model ------------------------------


def layers(stack) -> str:
    """'784 → 400 ReLU': the widths of a stack of linear layers (a torch
    `nn.Sequential`), each followed by the activation that comes after it; a
    convolution is named by its channels, kernel and stride. (By their
    attributes, not their classes: this module is read without torch.)"""
    parts: list[str] = []
    for layer in stack:
        if hasattr(layer, "out_features"):
            parts += [] if parts else [str(layer.in_features)]
            parts.append(str(layer.out_features))
        elif hasattr(layer, "out_channels"):
            parts.append(output_width(layer))
        elif type(layer).__name__ in ("Flatten", "Unflatten"):
            continue
        elif parts:
            parts[-1] += f" {type(layer).__name__}"
    return " → ".join(parts)


def output_width(layer) -> str:
    """What a layer puts out: a linear layer's width, or a convolution's channels
    with its kernel and stride ('conv 16, 4×4 stride 2')."""
    if hasattr(layer, "out_features"):
        return str(layer.out_features)
    kind = "transposed conv" if getattr(layer, "transposed", False) else "conv"
    (kernel, _), (stride, _) = layer.kernel_size, layer.stride
    return f"{kind} {layer.out_channels}, {kernel}×{kernel} stride {stride}"


def record(run, key: str, description: str, optimizer: str, dataset) -> dict[str, Any]:
    """What the page says of one trained model that its config does not: the
    encoder and decoder as built, the number of weights it reads, the optimizer, the data's size.

    Args:
        run: the trained model (a `vae.checkpoint.Run`).
        key: the cache key of the run in the model store.
        description: the experiment's one-line description.
        optimizer: the name of the optimizer the trainer builds.
        dataset: the data it was trained on (a `vae.data.Dataset`).
    """
    encoder, decoder = run.model.encoder, run.model.decoder
    heads = [
        f"{getattr(encoder, name).out_features} {label}"
        for name, label in HEADS.items()
        if getattr(encoder, name, None) is not None
    ]
    encoded = f"{layers(encoder.body)} → {', '.join(heads)}"
    codebook = getattr(run.model, "codebook", None)
    if codebook is not None:  # a VQ-VAE: deterministic outputs, quantised in groups
        size, width = codebook.shape
        encoded = (
            f"{layers(encoder.body)} → {encoder.mean.out_features} outputs z_e, "
            f"each {width} quantised to the nearest of {size} codebook vectors"
        )
    if getattr(run.model, "flow", None) is not None:  # z0 ~ N(mu, sigma^2), then the flow
        encoded += f", then {len(run.model.flow.layers)} affine coupling layers"
    parameters = sum(p.numel() for p in run.model.parameters())
    if getattr(decoder, "mask", None) is not None:  # the autoregressive W: only q < p is read
        parameters -= int((decoder.mask == 0).sum())
    return {
        "description": description,
        "key": key,
        "encoder": encoded,
        "decoder": f"{layers(decoder.body)} → {output_width(decoder.output)}",
        "parameters": parameters,
        "optimizer": optimizer,
        "train_examples": len(dataset.train_images),
        "test_examples": len(dataset.test_images),
    }


def precision_words(precisions: list[str]) -> str:
    """How many runs used which arithmetic, as the page's sentence goes on after
    "Of the N runs, ": "six used bfloat16 matrix products and eight float32 throughout"."""
    bf16 = precisions.count("bf16")
    fp32 = len(precisions) - bf16
    if not bf16:
        return "all used float32 throughout"
    if not fp32:
        return "all used bfloat16 matrix products"
    return (
        f"{count_words(bf16)} used bfloat16 matrix products and "
        f"{count_words(fp32)} float32 throughout"
    )


# -- what the page shows, from the record and the store ---------------------------


@dataclass(frozen=True)
class TrainedModel:
    """One model of the site: the figure's record of it, with its saved run."""

    name: str  # the experiment's name, as figure scripts ask for it
    record: dict[str, Any]  # what `record` said of it
    config: RunConfig  # the config saved beside its weights
    seconds: float  # its training loop's time, a test pass after each epoch included
    test_losses: tuple[float, ...] = ()  # its test loss after each epoch, in nats


def load(project: Project) -> list[TrainedModel]:
    """Every model the training figure recorded, with its run read from the store.

    Raises:
        VAEError: the figure has not run, or a run it recorded is not in the store.
    """
    from vae.checkpoint import check_run
    from vae.site.store import ModelStore

    path = project.figures_out / FIGURE / RECORD
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError):
        raise VAEError(
            f"no record of the trained models at {path}: run `python -m vae figures`"
        ) from None
    store = ModelStore(project.models_dir)
    models = []
    for name, entry in records.items():
        config, history, _, _ = check_run(store.path(name, entry["key"]))
        seconds = sum(row["seconds"] for row in history)
        losses = tuple(row["test_loss"] for row in history if "test_loss" in row)
        models.append(TrainedModel(name, entry, config, seconds, losses))
    return models


PRIOR_WORDS = {
    "mixture": "a learned Gaussian mixture",
    "vamp": "the VampPrior",
    "hierarchy": "a second code u above z (log p(z) bounded through q(u|z))",
}


def objective(config: RunConfig) -> str:
    """The loss a model was trained on, in words."""
    model, train = config.model, config.train
    beta = train.beta
    if model.kind == "ae":
        return "reconstruction log-likelihood, z = μ(x)"
    if model.kind == "vq-vae":
        return f"reconstruction − codebook − {train.commitment:g} × commitment (VQ-VAE)"
    weight = "KL" if beta == 1 else f"β·KL, β = {beta:g}"
    if model.kind == "noisy-ae":
        sigma = f"{model.noise_sigma:g}"
        return f"reconstruction − {weight}; z = μ(x) + σ₀ε, σ₀ = {sigma} fixed"
    if train.objective == "iwae":
        words = f"importance-weighted bound, k = {train.k} codes per digit"
    else:
        words = "ELBO" if beta == 1 else f"ELBO with {weight}"
    if model.prior != "normal":
        words += f"; KL from {PRIOR_WORDS[model.prior]}, estimated at the drawn code"
    elif model.posterior == "flow":
        words += "; KL estimated at the drawn code"
    if train.warmup_epochs:
        words += f"; KL weight rising from 0 over {train.warmup_epochs} epochs"
    if train.free_bits:
        words += f"; free bits, {train.free_bits:g} nats per dimension"
    return words


def likelihood(config: RunConfig) -> str:
    """p(x|z) in words: what the decoder's outputs are."""
    if config.model.decoder == "autoregressive":
        return (
            "Bernoulli logits, each pixel also given the rows above it and the pixels to its left"
        )
    if config.model.likelihood == "bernoulli":
        return "Bernoulli logits"
    if config.model.likelihood == "gaussian-learned":
        return "Gaussian means, one learned σ"
    return f"Gaussian means, σ = {config.model.observation_sigma:g}"


def loss_cells(losses: tuple[float, ...]) -> list[str]:
    """The last test loss, and how much it fell over the last RECENT epochs: the
    second is how far a model was from done when its training stopped."""
    if not losses:
        return ["—", "—"]
    fall = f"{losses[-RECENT - 1] - losses[-1]:.1f}" if len(losses) > RECENT else "—"
    return [f"{losses[-1]:.1f}", fall]


def duration(seconds: float) -> str:
    """'9.4 s', or '3 min 05 s' from a minute on."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def users(name: str, scripts: list[FigureScript], titles: dict[str, str]) -> tuple[str, str]:
    """(pages, figure scripts) that use model `name`, as Markdown links in nav order."""
    order = {page: i for i, page in enumerate(titles)}
    using = sorted(
        (s for s in scripts if name in s.models and s.name != FIGURE),
        key=lambda s: (order.get(s.page or "", len(order)), s.name),
    )
    pages = list(dict.fromkeys(s.page for s in using if s.page))
    page_links = ", ".join(f"[{titles.get(p, p)}]({p})" for p in pages)
    script_links = ", ".join(f"[{s.name}]({SCRIPTS_PAGE}#{s.name})" for s in using)
    return page_links or "none", script_links or "none"


def _table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(
    models: list[TrainedModel], scripts: list[FigureScript], titles: dict[str, str]
) -> str:
    """The page's four tables: what each model is, its network, how it was trained,
    and where the site uses it."""
    what, networks, how, where = [], [], [], []
    for m in models:
        r, c, t = m.record, m.config, m.config.train
        name = f"`{m.name}`"
        data = (
            f"{DATASET_NAMES[c.data.dataset]} ({r['train_examples']:,} train, "
            f"{r['test_examples']:,} test), {BINARIZATION_WORDS[c.data.binarize]}"
        )
        description = r["description"][:1].upper() + r["description"][1:]
        what.append([name, description, objective(c), data])
        decoder = f"{r['decoder']} {likelihood(c)}"
        networks.append([name, r["encoder"], decoder, f"{r['parameters']:,}"])
        how.append(
            [
                name,
                f"{t.epochs:,}",
                *loss_cells(m.test_losses),
                PRECISION_WORDS[t.precision],
                duration(m.seconds),
                r["optimizer"],
                f"{t.learning_rate:g}",
                f"{t.batch_size:,}",
                str(t.seed),
            ]
        )
        where.append([name, *users(m.name, scripts, titles)])
    total = duration(sum(m.seconds for m in models))
    # The data every model shares is said once, above the table; the column keeps
    # only how each model sees it.
    sets = {row[-1].rsplit(", ", 1)[0] for row in what}
    if len(sets) == 1 and what:
        what_table = f"Every model trains on the same digits: the {sets.pop()}.\n\n" + _table(
            (*WHAT_COLUMNS[:-1], "Inputs"),
            [[*row[:-1], row[-1].rsplit(", ", 1)[1]] for row in what],
        )
    else:
        what_table = _table(WHAT_COLUMNS, what)
    return "\n\n".join(
        [
            "## What each model is",
            what_table,
            "## The networks",
            _table(NETWORK_COLUMNS, networks),
            "## How each was trained",
            _table(HOW_COLUMNS, how),
            f"Altogether, {total} of training.",
            "## Where each is used",
            _table(WHERE_COLUMNS, where),
            "",
        ]
    )
