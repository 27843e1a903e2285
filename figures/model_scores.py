"""Test ELBO and importance-weighted estimate of log p(x), in nats, of the 2-D
and 20-D VAEs."""

from vae.data import test_inputs
from vae.train import evaluate, iwae_estimate

PAGE = "index.md"
IWAE_K = {"quick": 50, "full": 1000}


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    k = IWAE_K[ctx.profile]
    ctx.number("iwae_k", k)
    for name in ("vae-2d", "vae-20d"):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        key = name.replace("-", "_")
        ctx.number(f"{key}_test_elbo", evaluate(run.model, x)["elbo"])
        ctx.number(f"{key}_test_iwae", iwae_estimate(run.model, x, k))
