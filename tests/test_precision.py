"""Mixed precision: the flat bfloat16 weights against autocast over float32 weights."""

import pytest
import torch

from vae import objectives
from vae.config import ModelConfig
from vae.models import build_model
from vae.precision import BF16Optimizer
from vae.train import make_optimizer

LR = 2e-3


def fresh(kind: str):
    # Sizes that are not multiples of a vector register's width, so that each
    # tensor has a tail that Adam's fused kernel rounds in its own way.
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, hidden_sizes=(200,), latent_dim=2))


def batches(n: int):
    generator = torch.Generator().manual_seed(1)
    return [torch.rand(32, 28, 28, generator=generator) for _ in range(n)]


def loss_of(model, x, generator):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = model.terms(x, generator)
    return -objectives.elbo(terms.log_px_given_z, terms.kl).mean()


def flat(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("kind", ["ae", "noisy-ae", "vae"])
def test_steps_match_autocast_over_float32_weights_bit_for_bit(kind):
    """The reference is the plain recipe: float32 parameters, torch.autocast, and
    fused Adam over every parameter tensor."""
    reference, model = fresh(kind), fresh(kind)
    reference_opt = make_optimizer(reference.parameters(), LR)
    optimizer = BF16Optimizer(model, lambda params: make_optimizer(params, LR))
    grads = [p.grad.data_ptr() for p in model.parameters()]
    noise_a, noise_b = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    for x in batches(20):
        reference_opt.zero_grad()
        loss_of(reference, x, noise_a).backward()
        reference_opt.step()
        optimizer.zero_grad()
        loss_of(model, x, noise_b).backward()
        optimizer.step()
    assert torch.equal(optimizer.master, flat(reference))
    assert not torch.equal(flat(reference), flat(fresh(kind)))  # the steps moved the weights
    # The weights the products read are the master rounded to bfloat16, and
    # backward wrote into the flat gradient buffer, not into new tensors.
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    assert torch.equal(flat(model), optimizer.master.to(torch.bfloat16))
    assert [p.grad.data_ptr() for p in model.parameters()] == grads


def test_float32_shows_the_master_for_a_while_and_release_for_good():
    model = fresh("vae")
    optimizer = BF16Optimizer(model, lambda params: make_optimizer(params, LR))
    optimizer.zero_grad()
    loss_of(model, batches(1)[0], None).backward()
    optimizer.step()
    with optimizer.float32():
        assert all(p.dtype == torch.float32 and p.grad is None for p in model.parameters())
        assert torch.equal(flat(model), optimizer.master)
        out = model.decoder(torch.zeros(1, 2))
    assert out.dtype == torch.float32
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    optimizer.release()
    assert all(p.dtype == torch.float32 and p.grad is None for p in model.parameters())
    assert torch.equal(flat(model), optimizer.master)
    storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert len(storages) == len(list(model.parameters()))  # no two share memory
    # The released weights are the model's own: stepping the optimizer again
    # does not move them.
    before = flat(model)
    optimizer.master.add_(1.0)
    assert torch.equal(flat(model), before)
