"""The trainer: it learns, it repeats itself for a seed, it waits for the device
rarely; the IWAE estimate in chunks; bf16. When it stops: test_train_stops.py."""

import math
import subprocess
import sys

import pytest
import torch

from vae import objectives, precision
from vae import train as train_module
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.data import test_inputs as inputs_of
from vae.errors import ConfigError, VAEError
from vae.precision import supports_bf16
from vae.train import evaluate, iwae_estimate, resolve_device, train


def config(kind="vae", epochs=3, hidden=128, latent_dim=2, **train_kw):
    return RunConfig(
        ModelConfig(kind=kind, hidden_sizes=(hidden,), latent_dim=latent_dim),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=epochs, **train_kw),
    )


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


@pytest.mark.parametrize("posterior", ["full", "flow"])
def test_richer_posteriors_learn(small, posterior):
    """A full-covariance or flow q trains like the diagonal one; the flow's KL is
    a Monte Carlo estimate, the full covariance's is in closed form."""
    richer = RunConfig(
        ModelConfig(hidden_sizes=(64,), posterior=posterior),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3, batch_size=32),
    )
    _, history = train(richer, small, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 20
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    assert all(row["test_kl"] > 0 for row in history)


def test_a_learned_sigma_falls_towards_the_rmse_of_the_reconstructions(small):
    """A sigma-VAE on gray digits, its sigma started well above the RMSE of its
    reconstructions (the optimum for its decoder), moves down towards it."""
    sigma_vae = RunConfig(
        ModelConfig(hidden_sizes=(64,), likelihood="gaussian-learned", observation_sigma=1.0),
        DataConfig("mnist5k", "continuous"),
        TrainConfig(epochs=2, batch_size=16),
    )
    model, history = train(sigma_vae, small, progress=False)
    x = inputs_of(small, "continuous")
    with torch.no_grad():
        mean = model.likelihood_params(model.sample_posterior(model.encode(x)))
    rmse = objectives.optimal_sigma(x, mean).item()
    sigma = model.log_sigma.exp().item()
    assert rmse < sigma < 1.0 - 0.05
    assert history[-1]["test_elbo"] > history[0]["test_elbo"]


def test_kl_annealing_and_free_bits_shape_the_training_loss_only(small):
    """Each row's beta follows the warm-up and its training loss is taken with it;
    with free bits the loss is at least minus the ELBO; the test loss is always
    the full beta's, without free bits."""
    settings = TrainConfig(epochs=3, batch_size=32, beta=2.0, warmup_epochs=2, free_bits=0.5)
    run = RunConfig(ModelConfig(hidden_sizes=(64,)), DataConfig("mnist5k", "dynamic"), settings)
    _, history = train(run, small, progress=False)
    assert [row["beta"] for row in history] == [0.0, 1.0, 2.0]
    for row in history:
        floor = -(row["train_log_px_given_z"] - row["beta"] * row["train_kl"])
        assert row["train_loss"] >= floor - 1e-3
        full_beta = -(row["test_log_px_given_z"] - 2.0 * row["test_kl"])
        assert row["test_loss"] == pytest.approx(full_beta)
    assert history[0]["train_loss"] == pytest.approx(-history[0]["train_log_px_given_z"])


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


def test_the_loop_waits_for_the_device_once_per_check(small, monkeypatch):
    """Reading a tensor's value on the host (bool, item, tolist) waits for the device.
    The loop does so once per CHECK_EVERY steps, not at every step."""
    reads = []
    for name in ("__bool__", "item", "tolist"):
        real = getattr(torch.Tensor, name)

        def counted(self, *args, _real=real, **kwargs):
            reads.append(None)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    monkeypatch.setattr(train_module, "CHECK_EVERY", 10)
    epochs, steps = 2, len(small.train_images) // 16  # 60 steps per epoch
    train(config(epochs=epochs, hidden=16, batch_size=16), small, progress=False)
    checks = epochs * steps // 10
    evaluations = epochs + 1  # one before training, one after each epoch
    assert len(reads) <= checks + 2 * evaluations + epochs + 2 < epochs * steps // 2


def test_iwae_estimate_is_above_the_elbo(dataset):
    model, _ = train(config(epochs=2), dataset, progress=False)
    x = torch.bernoulli(
        dataset.test_images.float() / 255, generator=torch.Generator().manual_seed(0)
    )
    elbo = evaluate(model, x)["elbo"]
    iwae_50 = iwae_estimate(model, x, 50)
    assert elbo < iwae_50 < 0
    assert iwae_estimate(model, x, 1) == pytest.approx(elbo, abs=2.0)


def test_training_on_the_iwae_bound(small):
    """The loss is minus L_k, at or below minus the ELBO of the same draws (Jensen's
    inequality, exactly); the test loss is minus the IWAE estimate with k samples;
    the rows still report the ELBO and its terms."""
    settings = TrainConfig(epochs=2, batch_size=32, objective="iwae", k=5)
    iwae = RunConfig(ModelConfig(hidden_sizes=(64,)), DataConfig("mnist5k", "dynamic"), settings)
    model, history = train(iwae, small, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for row in history:
        assert row["train_loss"] <= -row["train_elbo"] + 1e-3
        assert row["train_elbo"] == pytest.approx(row["train_log_px_given_z"] - row["train_kl"])
        assert -row["test_loss"] > row["test_elbo"]
    x = inputs_of(small, "dynamic")
    assert history[-1]["test_loss"] == pytest.approx(-iwae_estimate(model, x, 5))


def numel(output):
    """The size of a module's output, or of the largest tensor in a tuple of outputs."""
    if isinstance(output, torch.Tensor):
        return output.numel()
    return max(t.numel() for t in output if t is not None)


@pytest.fixture(scope="module")
def trained(dataset):
    model, _ = train(config(epochs=1, hidden=64, latent_dim=5), dataset, progress=False)
    return model


def test_iwae_estimate_in_chunks_equals_the_estimate_in_one_piece(dataset, trained):
    x = torch.bernoulli(
        dataset.test_images[:150].float() / 255, generator=torch.Generator().manual_seed(0)
    )
    whole = iwae_estimate(trained, x, 30, samples_per_chunk=30)
    assert iwae_estimate(trained, x, 30, samples_per_chunk=7) == pytest.approx(whole, abs=1e-4)
    assert iwae_estimate(trained, x, 30) == pytest.approx(whole, abs=1e-4)  # default chunks
    assert iwae_estimate(trained, x, 30, seed=1) != pytest.approx(whole, abs=1e-4)


def test_the_chunk_bounds_the_largest_tensor_of_the_iwae_estimate(dataset, trained, monkeypatch):
    """Every module output and every log-likelihood input is at most one chunk of
    decoded pixels, however large k is."""
    largest = []
    hooks = [
        module.register_forward_hook(lambda m, i, out: largest.append(numel(out)))
        for module in trained.modules()
    ]
    real_log_likelihood = trained.log_likelihood

    def log_likelihood(x, params):
        largest.append(max(x.numel(), params.numel()))
        return real_log_likelihood(x, params)

    monkeypatch.setattr(trained, "log_likelihood", log_likelihood)
    monkeypatch.setattr(train_module, "IWAE_CHUNK_ELEMENTS", 20 * 100 * 784)
    x = dataset.test_images[:100].float() / 255
    try:
        iwae_estimate(trained, x, 5000)
    finally:
        for hook in hooks:
            hook.remove()
    assert max(largest) == 20 * 100 * 784  # 20 samples of 100 images at a time
    # The default chunk keeps each such tensor at 64 MiB in float32.
    assert train_module.IWAE_CHUNK_ELEMENTS * 4 <= 64 * 2**20


def test_bad_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="batch size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="beta"):
        TrainConfig(beta=-1)
    with pytest.raises(ConfigError, match="learning rate"):
        TrainConfig(learning_rate=math.inf)
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        TrainConfig(precision="fp8")
    with pytest.raises(ConfigError, match="unknown train config keys: momentum"):
        TrainConfig.from_dict({"momentum": 0.9})
    assert issubclass(ConfigError, VAEError)
    with pytest.raises(VAEError, match="unknown device"):
        resolve_device("tpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_run_config_round_trip():
    c = config(kind="noisy-ae", beta=0.5, precision="bf16")
    assert c.to_dict()["train"]["precision"] == "bf16"
    assert RunConfig.from_dict(c.to_dict()) == c
    # A config saved before the precision field existed loads as fp32.
    old = c.to_dict()
    del old["train"]["precision"]
    assert RunConfig.from_dict(old).train.precision == "fp32"


def test_bf16_where_the_cpu_lacks_it_is_a_clear_error(dataset, monkeypatch):
    monkeypatch.setattr(precision, "supports_bf16", lambda device: False)
    with pytest.raises(VAEError, match="no native bfloat16 matrix products; train in fp32"):
        train(config(epochs=1, precision="bf16"), dataset, progress=False)


@pytest.mark.skipif(not supports_bf16("cpu"), reason="no bf16 on this CPU")
def test_bf16_runs_the_products_in_bf16_and_matches_fp32(dataset, monkeypatch):
    """The linear layers see bfloat16 during training, not during evaluation; the
    test ELBO after two epochs is close to the float32 run's."""
    dtypes = set()
    real_build = train_module.build_model

    def build(model_config):
        model = real_build(model_config)
        model.decoder.output.register_forward_hook(
            lambda m, i, out: dtypes.add((m.training, out.dtype))
        )
        return model

    monkeypatch.setattr(train_module, "build_model", build)
    _, low = train(config(epochs=2, precision="bf16"), dataset, progress=False)
    assert dtypes == {(True, torch.bfloat16), (False, torch.float32)}
    _, full = train(config(epochs=2), dataset, progress=False)
    assert low[-1]["test_elbo"] == pytest.approx(full[-1]["test_elbo"], abs=3.0)
    assert low[-1]["test_elbo"] != full[-1]["test_elbo"]


@pytest.mark.slow
def test_an_iwae_estimate_with_k_5000_stays_under_1_gb():
    """The README's `--iwae-k 5000` on 100 images of the 784-400-20 model: the peak
    memory of a fresh process rises by less than 1 GB (5 GB without chunks)."""
    code = """
import resource, torch
from vae.config import ModelConfig
from vae.models import build_model
from vae.train import iwae_estimate
torch.manual_seed(0)
model = build_model(ModelConfig(hidden_sizes=(400,), latent_dim=20))
x = torch.bernoulli(torch.full((100, 28, 28), 0.2))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(iwae_estimate(model, x, 5000))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    estimate, rise = result.stdout.split()
    assert math.isfinite(float(estimate))
    assert int(rise) < 1e9


def test_step_flops_count_every_matrix_product_of_a_step_forward_and_backward():
    from vae.config import ModelConfig, TrainConfig
    from vae.models import build_model
    from vae.train import step_flops

    model = build_model(ModelConfig(image_shape=(4, 4), hidden_sizes=(8,), latent_dim=2))
    x = torch.bernoulli(torch.full((3, 4, 4), 0.5), generator=torch.Generator().manual_seed(0))
    # (in, out) of the five linear layers: body, mean, logvar; decoder body, output.
    layers = [(16, 8), (8, 2), (8, 2), (2, 8), (8, 16)]
    forward = sum(2 * 3 * i * o for i, o in layers)
    backward = forward + sum(2 * 3 * i * o for i, o in layers[1:])  # no gradient for x
    assert step_flops(model, x, TrainConfig()) == forward + backward
    assert all(p.grad is None for p in model.parameters())
    five = step_flops(model, x, TrainConfig(objective="iwae", k=5))
    assert five > forward + backward  # five decoder passes per example
