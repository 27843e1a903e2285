"""The 2-D VAE's gap and its split on training digits, to set beside the test
digits of exact_posterior.py: an encoder fitted to its training digits should
find their posteriors better than those of new ones.

The training digits are every stride-th of the training split (the split is
sorted by class, so a stride keeps every class), each binarized once with the
fixed seed that binarizes the test digits.
"""

from vae import exact
from vae.data import binarize, fixed_generator, to_unit_interval
from vae.gaps import inference_gaps

PAGE = "results.md"
MODELS = ("vae-2d",)
STRIDE = {"quick": 90, "full": 18}  # every STRIDE-th training digit


def make(ctx):
    run = ctx.model("vae-2d")
    dataset = ctx.dataset("mnist5k")
    images = to_unit_interval(dataset.train_images[:: STRIDE[ctx.profile]])
    x = binarize(images, fixed_generator())
    # Drafts integrate on coarser cells: the quick models' posteriors are wide.
    grid = exact.Grid(refine=2) if ctx.profile == "quick" else exact.Grid()
    gaps = inference_gaps(run.model, x, grid)
    ctx.number("train_digits", len(x))
    for key, (mean, standard_error) in gaps.summary().items():
        ctx.number(f"train_{key}", mean)
        ctx.number(f"train_{key}_se", standard_error)
