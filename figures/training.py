"""How every model of the site was trained: for each experiment, the run the
build used, its network as built, its optimizer and the size of its data. The
training page's tables are written from this record and from each run's saved
config and history (vae/site/training_page.py)."""

import json

import torch

from vae.site import training_page
from vae.site.experiments import EXPERIMENTS
from vae.train import make_optimizer

PAGE = "training.md"
MODELS = "all"  # every experiment in vae/site/experiments.py
DEVICES = {"cpu": "the CPU with one math thread", "cuda": "a CUDA GPU"}


def optimizer_name(learning_rate):
    """The class of the optimizer the trainer builds, by name ("Adam")."""
    weight = torch.nn.Parameter(torch.zeros(1))
    return type(make_optimizer([weight], learning_rate)).__name__


def make(ctx):
    records, precisions, devices = {}, [], set()
    for name in ctx.declared:  # in the order of the registry
        run = ctx.model(name)
        config = run.config  # as saved beside the weights
        records[name] = training_page.record(
            run,
            ctx.models[name],
            EXPERIMENTS[name].description,
            optimizer_name(config.train.learning_rate),
            ctx.dataset(config.data.dataset),
        )
        precisions.append(config.train.precision)
        devices.add(run.meta["device"])
    ctx.save(training_page.RECORD, (json.dumps(records, indent=2) + "\n").encode())
    ctx.number("models", len(records))
    ctx.words("precisions", training_page.precision_words(precisions))
    ctx.words("device", " and ".join(DEVICES.get(d, d) for d in sorted(devices)))
