"""The mean over independent draws (test digits, seeds, repeated estimates) and
its standard error, the ± every comparison on the site quotes."""

from __future__ import annotations

import math

import torch


def mean_and_se(values: torch.Tensor) -> tuple[float, float]:
    """The mean of a 1-D tensor of independent values and the standard error of
    that mean, s / sqrt(n) with the sample standard deviation s (n - 1 in its
    denominator), both computed in float64.

    Raises:
        ValueError: fewer than two values (no spread can be measured).
    """
    values = torch.as_tensor(values).reshape(-1).double()
    if values.numel() < 2:
        raise ValueError(f"a standard error needs at least two values, got {values.numel()}")
    return values.mean().item(), (values.std() / math.sqrt(values.numel())).item()
