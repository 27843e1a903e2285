"""The importance-weighted bound L_k on the test digits as k grows, for the 2-D
and the 20-D VAE. L_1 is the ELBO; L_k rises towards log p(x)."""

from vae.data import test_inputs
from vae.site import plotting
from vae.train import iwae_estimate

PAGE = "variational-inference.md"
MODELS = ("vae-2d", "vae-20d")
KS = {"quick": (1, 10, 50), "full": (1, 2, 5, 10, 50, 200, 1000)}


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    ks = KS[ctx.profile]
    fig, ax = plotting.figure(figsize=(5.2, 3.6))
    for name, marker in (("vae-2d", "o"), ("vae-20d", "s")):
        run = ctx.model(name)
        x = test_inputs(dataset, run.config.data.binarize)
        bounds = [iwae_estimate(run.model, x, k) for k in ks]
        ax.semilogx(ks, bounds, marker=marker, label=name)
        key = name.replace("-", "_")
        ctx.number(f"{key}_k1", bounds[0])
        ctx.number(f"{key}_kmax", bounds[-1])
        ctx.number(f"{key}_gain", bounds[-1] - bounds[0])
    ax.set_xlabel("importance samples $k$")
    ax.set_ylabel(r"$\mathcal{L}_k$, nats per test digit")
    ax.legend()
    ctx.save("bound-vs-k.svg", plotting.svg_bytes(fig))
    ctx.number("kmax", ks[-1])
