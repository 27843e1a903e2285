"""The standard error against the standard library's sample statistics."""

import math
import statistics

import pytest
import torch

from vae.stats import mean_and_se


def test_mean_and_se_match_the_standard_library():
    values = torch.randn(37, generator=torch.Generator().manual_seed(0)) * 3 + 1
    mean, se = mean_and_se(values.float())
    data = values.double().tolist()
    assert mean == pytest.approx(statistics.fmean(data), rel=1e-12)
    assert se == pytest.approx(statistics.stdev(data) / math.sqrt(len(data)), rel=1e-12)


def test_one_value_has_no_standard_error():
    with pytest.raises(ValueError, match="at least two"):
        mean_and_se(torch.tensor([1.0]))
