"""When training stops, and when it refuses: a non-finite loss, a loss that runs
away, a model that ends worse than the untrained one; and the runs that must pass:
a loss that barely moves, a spike within an epoch, the site's short runs."""

import math

import pytest
import torch

from vae import data, objectives
from vae import train as train_module
from vae.errors import TrainingError
from vae.models import build_model
from vae.train import evaluate, train

from .test_train import config


def test_a_non_finite_loss_stops_training_within_one_check_and_names_the_epoch(small, monkeypatch):
    """The loss turns NaN at one step of epoch 2; the loop notices at its next check."""
    monkeypatch.setattr(train_module, "CHECK_EVERY", 10)
    steps_per_epoch = len(small.train_images) // 32  # 30
    poisoned_step = steps_per_epoch + 5
    calls = []
    real_elbo = objectives.elbo

    def elbo(log_px_given_z, kl, beta=1.0):
        calls.append(None)
        value = real_elbo(log_px_given_z, kl, beta)
        return value * math.nan if len(calls) == poisoned_step else value

    monkeypatch.setattr(objectives, "elbo", elbo)
    with pytest.raises(TrainingError) as error:
        train(config(epochs=3, hidden=16, batch_size=32), small, progress=False)
    assert str(error.value) == (
        "training stopped in epoch 2: the training loss became NaN or infinite; "
        "try a lower learning rate"
    )
    assert poisoned_step < len(calls) <= poisoned_step + 10


def test_a_run_that_diverges_while_staying_finite_is_stopped(dataset):
    """At a learning rate of 1e6 the loss runs to about 1e33 nats without overflowing."""
    with pytest.raises(TrainingError) as error:
        train(config(epochs=3, learning_rate=1e6), dataset, progress=False)
    message = str(error.value)
    assert message.startswith("training stopped in epoch 1: the test loss diverged to ")
    assert message.endswith("for the untrained model; try a lower learning rate")
    diverged_to = float(message.split("diverged to ")[1].split(" nats")[0])
    assert math.isfinite(diverged_to) and diverged_to > 1e20


def test_a_run_that_ends_worse_than_it_began_is_refused(dataset):
    """The command line's default model (784-400-2) at a learning rate of 1 ends its
    one epoch with a test loss near 940 nats, against about 553 untrained: below the
    runaway bound (twice 553), and still not a trained model."""
    run = config(epochs=1, hidden=400, learning_rate=1.0)
    with torch.random.fork_rng(devices=[]):  # the untrained model, built as train() builds it
        torch.manual_seed(run.train.seed)
        untrained = build_model(run.model)
    untrained_loss = evaluate(untrained, data.test_inputs(dataset, "dynamic"))["loss"]
    with pytest.raises(TrainingError) as error:
        train(run, dataset, progress=False)
    message = str(error.value)
    prefix = "training made the model worse: its test loss rose from "
    assert message.startswith(prefix)
    assert message.endswith(" after 1 epoch; try a lower learning rate")
    before, after = message[len(prefix) :].split(" nats untrained to ")
    assert float(before) == pytest.approx(untrained_loss, abs=0.05)
    assert untrained_loss < float(after.split()[0]) < 2 * untrained_loss


def scripted_test_losses(monkeypatch, losses):
    """Makes `evaluate` report these test losses: the untrained model's, then one per epoch."""
    remaining = iter(losses)

    def evaluate(model, x, beta=1.0):
        loss = next(remaining)
        return {"elbo": -loss, "loss": loss, "log_px_given_z": -loss, "kl": 0.0}

    monkeypatch.setattr(train_module, "evaluate", evaluate)


@pytest.mark.parametrize(
    "losses, refusal",
    [
        ([500.0, 800.0, 400.0], None),  # a worse epoch that the next one makes up for
        ([500.0, 500.0], None),  # unchanged is not worse
        ([500.0, 300.0, 500.5], "rose from 500.0 nats untrained to 500.5 after 2 epochs"),
        ([500.0, 1000.5, 10.0], "stopped in epoch 1: the test loss diverged to 1e+03 nats"),
        ([-100.0, -150.0], None),  # a Gaussian likelihood's loss can be negative
        ([-100.0, -99.0], "rose from -100.0 nats untrained to -99.0 after 1 epoch"),
        ([-100.0, 0.5], "stopped in epoch 1: the test loss diverged to 0.5 nats"),
    ],
)
def test_the_saved_model_must_beat_the_untrained_one(small, monkeypatch, losses, refusal):
    """Runaway (above L0 + |L0|) stops at once; the end must be below L0 itself."""
    scripted_test_losses(monkeypatch, losses)
    run = config(epochs=len(losses) - 1, hidden=16, batch_size=480)
    if refusal is None:
        _, history = train(run, small, progress=False)
        assert [row["test_loss"] for row in history] == losses[1:]
        return
    with pytest.raises(TrainingError) as error:
        train(run, small, progress=False)
    assert refusal in str(error.value)


@pytest.mark.slow
def test_the_sites_quick_runs_are_never_refused(dataset):
    """Every model the site trains, in its quick profile (two epochs, at its own
    step size: Adam at 2e-3 in batches of 128, or 1e-2 for the collapse runs),
    ends each epoch well below the untrained model's test loss, so neither a one-
    nor a two-epoch run of it is refused. "Well below" is a fifth of the untrained
    loss above its floor: zero for Bernoulli pixels; for Gaussian pixels, the
    constant P log(sigma sqrt(2 pi)) that even a perfect reconstruction with no
    KL pays, at the sigma the model starts from."""
    from vae.site import experiments

    for name, experiment in experiments.EXPERIMENTS.items():
        run = experiment.run_config("quick", "cpu")
        step = experiment.config.train.learning_rate
        assert run.train.epochs == 2 and run.train.learning_rate == step, name
        assert step == experiments.LEARNING_RATE or name.startswith("collapse"), name
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(run.train.seed)
            untrained = build_model(run.model)
        x = data.test_inputs(dataset, run.data.binarize)
        untrained_loss = evaluate(untrained, x, run.train.beta)["loss"]
        floor = 0.0
        if run.model.likelihood != "bernoulli":
            pixels = x[0].numel()
            floor = pixels * (0.5 * math.log(2 * math.pi) + math.log(run.model.observation_sigma))
        _, history = train(run, dataset, progress=False)
        for row in history:
            assert row["test_loss"] < untrained_loss - 0.2 * abs(untrained_loss - floor), name


def test_a_loss_that_barely_moves_is_not_divergence(small):
    _, history = train(config(epochs=2, hidden=16, learning_rate=1e-8), small, progress=False)
    assert history[0]["test_loss"] == pytest.approx(history[1]["test_loss"], abs=0.1)


def test_a_spike_within_an_epoch_is_not_divergence(dataset):
    """At a learning rate of 0.1 the 784-400-20 model's loss spikes to about 15 times
    the untrained model's early in the first epoch and recovers before its end; the
    rule looks at the end of each epoch."""
    _, history = train(
        config(epochs=1, hidden=400, latent_dim=20, learning_rate=0.1), dataset, progress=False
    )
    assert history[0]["train_loss"] > 5 * history[0]["test_loss"]  # the spike
    assert history[0]["test_loss"] < 300
