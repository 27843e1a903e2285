"""The trainer benchmark: its table printer, its FLOP count against torch's own
counter, and every trainer it times, on a small slice of the digits."""

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vae import bench
from vae.data import load_dataset


def test_format_table_aligns_columns_under_a_rule():
    table = bench.format_table(("name", "seconds"), [("a", "1.50"), ("longer name", 2)])
    assert table.splitlines() == [
        "name         seconds",
        "-----------  -------",
        "a            1.50",
        "longer name  2",
    ]


def test_format_table_rejects_a_ragged_row():
    with pytest.raises(ValueError, match="has 1 cells, the header 2"):
        bench.format_table(("a", "b"), [("only one",)])


def test_epoch_flops_match_torch_flop_counter():
    """One training step of the example's model at batch 128, counted by torch."""
    torch.manual_seed(0)
    model = bench.ExampleVAE(784)
    x = torch.rand(bench.BATCH, 784)
    with FlopCounterMode(display=False) as counter:
        x_hat, mu, logvar = model(x)
        bench.example_loss(x_hat, x, mu, logvar).backward()
    assert bench.epoch_flops(784, bench.BATCH) == counter.get_total_flops()


def test_matmul_rate_counts_the_flops_torch_counts(monkeypatch):
    """The rate is the product's FLOPs, as torch's own FLOP counter counts them, times
    the products done, over the time taken (a clock that ticks 10 ms a reading)."""
    with FlopCounterMode(display=False) as counter:
        torch.randn(128, 784) @ torch.randn(784, 400)
    ticks = iter(range(10_000))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(ticks) * 0.01)
    rate = bench.matmul_rate(seconds=0.05)
    # Readings: the start (tick 0), one per loop test, the end. Tests at ticks 1-4
    # are under 0.05 s, so 4 products run; tick 5 ends the loop; the end is tick 6.
    assert rate == pytest.approx(counter.get_total_flops() * 4 / 0.06)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist5k").subset(train=256, test=100)


@pytest.mark.parametrize("feed", ["tensors", "loader"])
def test_the_example_job_learns_from_either_feed(digits, feed):
    one = bench.example_job(digits, 1, seed=0, feed=feed)
    three = bench.example_job(digits, 3, seed=0, feed=feed)
    assert 0 < one.train_seconds < one.seconds
    assert 0 < three.test_loss < one.test_loss < 600  # below the untrained ~543 nats


def test_the_published_example_uses_the_default_adam(digits, monkeypatch):
    made = []
    real_adam = torch.optim.Adam

    def adam(params, **kwargs):
        made.append(kwargs)
        return real_adam(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", adam)
    bench.example_job(digits, 1, seed=0, feed="tensors")
    bench.example_job(digits, 1, seed=0, feed="tensors", published=True)
    assert made == [{"lr": bench.LR, "fused": True}, {"lr": bench.LR}]


def test_the_package_job_trains_the_example_architecture(digits):
    job = bench.package_job(digits, 2, seed=0)
    assert 0 < job.train_seconds < job.seconds
    assert 0 < job.test_loss < 600


def test_run_prints_both_tables_with_every_trainer(digits, monkeypatch):
    monkeypatch.setattr(bench, "load_dataset", lambda name, data_dir=None: digits)
    monkeypatch.setattr(bench, "supports_bf16", lambda device: False)
    monkeypatch.setattr(bench, "matmul_rate", lambda: 1e10)
    text = bench.run("mnist5k", epochs=1, runs=1)
    names = ["vae.train, fp32", bench.IN_MEMORY, bench.LOADER, bench.PUBLISHED]
    training, whole = text.split("\n\n")[1:3]
    for table in (training, whole):
        rows = [line.split("  ")[0] for line in table.splitlines()]
        assert [row for row in rows if row in names] == names
    assert "floor, 128x784 by 784x400 fp32 rate" in training
    assert f"{bench.epoch_flops(784, 256) / 1e10:.2f}" in training  # the floor, in seconds
    assert "median and range of 1 run(s)" in text
    assert "no bf16 row" in text


def test_the_site_benchmark_counts_and_times_from_the_build_events():
    from vae.site import bench_site
    from vae.site.scheduler import TaskEvent

    events = [
        TaskEvent("figure", "cached_one", "cached"),
        TaskEvent("model", "vae-2d", "ran", 0.0, 9.4),
        TaskEvent("model", "ae-2d", "cached", 0.0, 0.5),
        TaskEvent("figure", "iwae_bound", "ran", 9.5, 28.8, needs=("vae-2d",)),
        TaskEvent("figure", "broken", "failed", 0.0, 1.0),
    ]
    assert bench_site.counts(events) == ("1", "1")
    path = bench_site.describe_path(events)
    assert path == "train vae-2d 9.4 s -> figure iwae_bound 19.3 s (ends at 28.8 s)"
    assert bench_site.describe_path([]) == "-"


def test_the_plain_site_build_leaves_out_only_the_figures_plugin():
    from vae.site import bench_site

    config = "plugins:\n  - search\n  - vae-figures  # the figures\n  - mkdocs-jupyter:\n"
    assert bench_site.without_plugin(config) == "plugins:\n  - search\n  - mkdocs-jupyter:\n"
    real = (Path(__file__).parents[1] / "mkdocs.yml").read_text()
    assert len(bench_site.without_plugin(real).splitlines()) == len(real.splitlines()) - 1
