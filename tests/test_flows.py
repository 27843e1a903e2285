"""The coupling flow (`vae.flows`) against autograd: its log-determinant is the
log |det| of the Jacobian torch computes, its inverse undoes it, and an
untrained flow is the identity."""

import pytest
import torch
from torch.autograd.functional import jacobian

from vae.flows import CouplingFlow

FEATURES = 5


def random_flow(dim, layers=4, seed=0):
    """A flow in float64 whose last layers are not zero, so that it is not the identity."""
    torch.manual_seed(seed)
    flow = CouplingFlow(dim, FEATURES, layers).double()
    with torch.no_grad():
        for layer in flow.layers:
            layer.out.weight.normal_(0, 0.5)
            layer.out.bias.normal_(0, 0.5)
    return flow


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_the_log_determinant_is_autograds(dim):
    flow = random_flow(dim)
    gen = torch.Generator().manual_seed(1)
    h = torch.randn(3, FEATURES, generator=gen, dtype=torch.float64)
    context = flow.condition(h)  # (layers, 3, W)
    z0 = 2 * torch.randn(3, dim, generator=gen, dtype=torch.float64)
    z, log_det = flow(z0, context)
    for b in range(3):

        def f(point, b=b):
            return flow(point[None], context[:, b : b + 1])[0][0]

        sign, expected = torch.linalg.slogdet(jacobian(f, z0[b]))
        assert sign != 0
        torch.testing.assert_close(log_det[b], expected)
    assert not torch.allclose(z, z0)


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_the_inverse_undoes_the_flow(dim):
    flow = random_flow(dim, seed=2)
    gen = torch.Generator().manual_seed(3)
    context = flow.condition(torch.randn(4, FEATURES, generator=gen, dtype=torch.float64))
    z0 = torch.randn(7, 4, dim, generator=gen, dtype=torch.float64)  # 7 codes per example
    z, log_det = flow(z0, context)
    back, inverse_log_det = flow.inverse(z, context)
    torch.testing.assert_close(back, z0)
    torch.testing.assert_close(inverse_log_det, -log_det)


def test_an_untrained_flow_is_the_identity():
    torch.manual_seed(0)
    flow = CouplingFlow(2, FEATURES, 3)
    context = flow.condition(torch.randn(4, FEATURES))
    z0 = torch.randn(4, 2)
    z, log_det = flow(z0, context)
    assert torch.equal(z, z0) and torch.equal(log_det, torch.zeros(4))


def test_each_layer_moves_only_the_coordinates_its_mask_frees():
    flow = random_flow(2, layers=2)
    context = flow.condition(torch.randn(1, FEATURES, dtype=torch.float64))
    z = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    for layer, c in zip(flow.layers, context, strict=True):
        moved, _ = layer(z, c)
        kept = layer.mask.bool()
        assert torch.equal(moved[:, kept], z[:, kept])
        assert not torch.equal(moved[:, ~kept], z[:, ~kept])
