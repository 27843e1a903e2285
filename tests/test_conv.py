"""The convolutional encoder and decoder (`network="conv"`): images to codes
and back in the right shapes, each image decoded alone, the whole image seen,
the exact likelihood matrix of `vae.exact` against torch.distributions pair by
pair, and a conv VAE that learns."""

import pytest
import torch
from torch.distributions import Bernoulli

from vae import exact
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.models import build_model
from vae.networks import CONV_CHANNELS
from vae.train import train


def conv_model(latent_dim=2, kind="vae"):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, network="conv", latent_dim=latent_dim))


@pytest.mark.parametrize("kind", ["ae", "noisy-ae", "vae"])
def test_the_conv_networks_map_images_to_codes_and_codes_to_images(kind):
    model = conv_model(3, kind)
    x = torch.rand(5, 28, 28)
    assert model.encoder.features(x).shape == (5, CONV_CHANNELS[-1] * 7 * 7)
    q = model.encode(x)
    assert q.mu.shape == (5, 3)
    assert model.likelihood_params(q.mu).shape == (5, 28, 28)
    assert model.decode_mean(q.mu).min() >= 0 and model.decode_mean(q.mu).max() <= 1


def test_each_code_and_each_image_is_processed_alone():
    model = conv_model()
    z, x = torch.randn(6, 2), torch.rand(6, 28, 28)
    with torch.no_grad():
        together = model.likelihood_params(z), model.encode(x).mu
        alone = [
            torch.cat([model.likelihood_params(z[i : i + 1]) for i in range(6)]),
            torch.cat([model.encode(x[i : i + 1]).mu for i in range(6)]),
        ]
    for batch, single in zip(together, alone, strict=True):
        assert torch.allclose(batch, single, atol=1e-6)


def test_the_encoder_sees_every_corner_of_the_image():
    """Two stride-2 convolutions of kernel 4 see a patch each; the linear heads
    over their whole map join the patches, so no pixel is ignored."""
    model = conv_model()
    x = torch.zeros(1, 28, 28, requires_grad=True)
    model.encode(x).mu.sum().backward()
    grad = x.grad.abs()[0]
    for corner in (grad[0, 0], grad[0, -1], grad[-1, 0], grad[-1, -1], grad[14, 14]):
        assert corner > 0


def test_the_exact_likelihood_matrix_reads_a_conv_decoder_pair_by_pair():
    model = conv_model()
    x = (torch.rand(4, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    z = torch.randn(7, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        matrix = exact.log_likelihood_matrix(model, x, z)  # (4, 7)
        logits = model.likelihood_params(z)
        pair = [[Bernoulli(logits=row).log_prob(image).sum() for row in logits] for image in x]
        direct = torch.tensor(pair)
    assert torch.allclose(matrix, direct.double(), atol=1e-3)


def test_a_conv_vae_learns(small):
    run = RunConfig(
        ModelConfig(network="conv", latent_dim=4),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3, batch_size=32, precision="fp32"),
    )
    _, history = train(run, small, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 20
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    restored = RunConfig.from_dict(run.to_dict())
    assert restored == run and restored.to_dict()["model"]["network"] == "conv"
