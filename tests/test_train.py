"""The trainer: it learns, it repeats itself for a seed, it stops on NaN."""

import pytest
import torch

from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.data import load_dataset
from vae.errors import VAEError
from vae.train import evaluate, iwae_estimate, resolve_device, train


def config(kind="vae", epochs=3, **train_kw):
    return RunConfig(
        ModelConfig(kind=kind, hidden_sizes=(128,), latent_dim=2),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=epochs, **train_kw),
    )


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("mnist5k")


@pytest.mark.parametrize("kind", ["ae", "noisy-ae", "vae"])
def test_a_few_epochs_lower_the_loss(dataset, kind):
    _, history = train(config(kind), dataset, progress=False)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    losses = [row["train_loss"] for row in history]
    assert losses[-1] < losses[0] - 20
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    if kind == "ae":
        assert all(row["test_kl"] == 0 for row in history)
    else:
        assert all(row["test_kl"] > 0 for row in history)


def test_history_terms_add_up(dataset):
    _, history = train(config(epochs=1, beta=2.0), dataset, progress=False)
    row = history[0]
    assert row["test_elbo"] == pytest.approx(row["test_log_px_given_z"] - row["test_kl"])
    assert row["test_loss"] == pytest.approx(-(row["test_log_px_given_z"] - 2.0 * row["test_kl"]))
    assert row["train_loss"] == pytest.approx(
        -(row["train_log_px_given_z"] - 2.0 * row["train_kl"])
    )
    assert 0 < row["train_seconds"] <= row["seconds"]


def test_same_seed_same_model_other_seed_other_model(dataset):
    a, history_a = train(config(epochs=1), dataset, progress=False)
    b, history_b = train(config(epochs=1), dataset, progress=False)
    c, _ = train(config(epochs=1, seed=1), dataset, progress=False)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    pairs = zip(a.parameters(), c.parameters(), strict=True)
    assert not all(torch.equal(pa, pc) for pa, pc in pairs)
    strip = [{k: v for k, v in r.items() if "seconds" not in k} for r in history_a]
    assert strip == [{k: v for k, v in r.items() if "seconds" not in k} for r in history_b]


def test_training_does_not_touch_the_global_random_state(dataset):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(config(epochs=1), dataset, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_non_finite_loss_names_epoch_and_step(dataset):
    with pytest.raises(VAEError, match=r"at epoch 1, step \d+; try a lower learning rate"):
        train(config(epochs=2, learning_rate=1e12), dataset, progress=False)


def test_iwae_estimate_is_above_the_elbo(dataset):
    model, _ = train(config(epochs=2), dataset, progress=False)
    x = torch.bernoulli(
        dataset.test_images.float() / 255, generator=torch.Generator().manual_seed(0)
    )
    elbo = evaluate(model, x)["elbo"]
    iwae_50 = iwae_estimate(model, x, 50)
    assert elbo < iwae_50 < 0
    assert iwae_estimate(model, x, 1) == pytest.approx(elbo, abs=2.0)


def test_bad_settings_are_clear_errors():
    with pytest.raises(VAEError, match="batch size"):
        TrainConfig(batch_size=0)
    with pytest.raises(VAEError, match="beta"):
        TrainConfig(beta=-1)
    with pytest.raises(VAEError, match="unknown device"):
        resolve_device("tpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_run_config_round_trip():
    c = config(kind="noisy-ae", beta=0.5)
    assert RunConfig.from_dict(c.to_dict()) == c
