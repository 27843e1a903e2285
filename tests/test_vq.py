"""The VQ-VAE (`vae.vq`): the straight-through gradient against autograd at the
quantised code, the nearest codes against a brute-force search, which terms
move the codebook and which the encoder, codebook usage by hand, the loss by
hand, and a short training run."""

import math

import pytest
import torch

from vae import data as vae_data
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.losses import batch_loss, vq_loss
from vae.models import build_model
from vae.train import train
from vae.vq import VQVAE, dead_codes, nearest, perplexity, quantize, straight_through


def vq_model(latent_dim=4, groups=2, size=16, seed=0):
    torch.manual_seed(seed)
    config = ModelConfig(
        kind="vq-vae",
        hidden_sizes=(32,),
        latent_dim=latent_dim,
        code_groups=groups,
        codebook_size=size,
    )
    return build_model(config)


@pytest.fixture
def x():
    return torch.bernoulli(torch.full((5, 28, 28), 0.3), generator=torch.Generator().manual_seed(0))


def test_build_model_makes_a_vq_vae():
    model = vq_model()
    assert type(model) is VQVAE and model.codebook.shape == (16, 2)


def test_the_nearest_codes_are_a_brute_force_searchs():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(50, 3, generator=gen)
    codebook = torch.randn(10, 3, generator=gen)
    torch.testing.assert_close(nearest(z, codebook), torch.cdist(z, codebook).argmin(dim=1))


def test_the_straight_through_gradient_is_the_gradient_at_the_quantised_code(x):
    """d loss / d z_e through the straight-through estimator equals d loss / d z
    taken by autograd at z = z_q, for the decoder's loss; and z is z_q in value."""
    model = vq_model()
    z_e = torch.randn(5, 4, generator=torch.Generator().manual_seed(2), requires_grad=True)
    q = quantize(z_e, model.codebook.detach(), groups=2)
    z_q = model.codebook.detach()[q.indices.flatten()].view(5, 4)
    torch.testing.assert_close(q.z, z_q)  # z_e + (z_q - z_e): z_q up to rounding

    def loss(z):
        return -model.log_likelihood(x, model.likelihood_params(z)).sum()

    (through,) = torch.autograd.grad(loss(q.z), z_e)
    at_z_q = z_q.clone().requires_grad_()
    (expected,) = torch.autograd.grad(loss(at_z_q), at_z_q)
    torch.testing.assert_close(through, expected)
    assert through.abs().sum() > 0


def test_straight_through_is_the_identity_in_gradient():
    z_e = torch.tensor([1.0, -2.0], requires_grad=True)
    z = straight_through(z_e, torch.tensor([5.0, 7.0]))
    assert z.tolist() == [5.0, 7.0]
    (3 * z).sum().backward()
    assert z_e.grad.tolist() == [3.0, 3.0]


def test_the_codebook_term_moves_the_codes_and_the_commitment_term_the_encoder():
    codebook = torch.tensor([[0.0, 0.0], [10.0, 10.0]], requires_grad=True)
    z_e = torch.tensor([[1.0, 2.0], [9.0, 9.0]], requires_grad=True)
    q = quantize(z_e, codebook, groups=1)
    assert q.indices.flatten().tolist() == [0, 1]
    torch.testing.assert_close(q.codebook_loss, torch.tensor([5.0, 2.0]))
    torch.testing.assert_close(q.commitment_loss, torch.tensor([5.0, 2.0]))
    q.codebook_loss.sum().backward(retain_graph=True)
    assert z_e.grad is None
    torch.testing.assert_close(codebook.grad, torch.tensor([[-2.0, -4.0], [2.0, 2.0]]))
    codebook.grad = None
    q.commitment_loss.sum().backward()
    assert codebook.grad is None
    torch.testing.assert_close(z_e.grad, torch.tensor([[2.0, 4.0], [-2.0, -2.0]]))


def test_codebook_usage_by_hand():
    """Codes 0, 0, 1, 2 of four: frequencies 1/2, 1/4, 1/4, 0, entropy 1.5 log 2."""
    indices = torch.tensor([[0, 0], [1, 2]])
    assert perplexity(indices, 4) == pytest.approx(2**1.5)
    assert dead_codes(indices, 4) == 1
    assert perplexity(torch.arange(8), 8) == pytest.approx(8.0)
    assert perplexity(torch.zeros(9, dtype=torch.long), 8) == pytest.approx(1.0)
    assert dead_codes(torch.zeros(9, dtype=torch.long), 8) == 7


def test_the_vq_loss_and_terms_by_hand(x):
    """-log p(x | z_q) + codebook + beta_c * commitment, averaged; the KL is M log K."""
    model = vq_model()
    actual = vq_loss(model, x, commitment=0.25)
    with torch.no_grad():
        z_e = model.encoder(x)[0]
        index = torch.cdist(z_e.view(10, 2), model.codebook).argmin(dim=1)
        z_q = model.codebook[index].view(5, 4)
        rec = model.log_likelihood(x, model.likelihood_params(z_q))
        distance = (z_e - z_q).square().sum(1)
    torch.testing.assert_close(actual.loss.detach(), (-rec + 1.25 * distance).mean())
    torch.testing.assert_close(actual.terms.log_px_given_z.detach(), rec)
    torch.testing.assert_close(actual.terms.kl, torch.full((5,), 2 * math.log(16)))
    settings = TrainConfig(commitment=0.25)
    assert batch_loss(model, x, settings, 1.0).loss == actual.loss
    terms = model.terms(x)
    torch.testing.assert_close(terms.log_px_given_z, rec)
    torch.testing.assert_close(model.reconstruct(x), model.decode_mean(z_q))
    torch.testing.assert_close(model.reconstruction_term(x, 3), rec)


def test_prior_samples_are_codebook_vectors():
    model = vq_model()
    with torch.no_grad():
        z = model.sample_codes_from_prior(6, torch.Generator().manual_seed(0))
        pieces = z.view(12, 2)
        assert (torch.cdist(pieces, model.codebook).min(dim=1).values < 1e-6).all()
        assert model.sample_prior(6, torch.Generator().manual_seed(0)).shape == (6, 28, 28)


def test_a_vq_vae_trains_and_uses_its_codebook(dataset):
    """The loss falls; several codes are in use (perplexity at most the number
    used: it equals it only when they are used equally)."""
    run = RunConfig(
        ModelConfig(kind="vq-vae", hidden_sizes=(128,), latent_dim=4, code_groups=2),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3),
    )
    model, history = train(run, dataset, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 100
    assert all(row["test_kl"] == pytest.approx(2 * math.log(64)) for row in history)
    assert history[-1]["test_elbo"] > history[0]["test_elbo"]
    with torch.no_grad():
        indices = model.quantize(vae_data.test_inputs(dataset, "dynamic")).indices
    used = 64 - dead_codes(indices, 64)
    assert 2 < perplexity(indices, 64) <= used
