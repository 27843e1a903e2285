"""Exports the 2-D VAE for the live latent-space explorer on the VAE page.

The explorer (docs/javascripts/explorer.js) runs the encoder and decoder in the
browser, so it needs the weights: they are written as float16, little-endian,
one array after another, with a JSON index of names, shapes and offsets. The
decoder and the encoder go in separate files, so that a page that only shows
decoded codes never downloads the encoder. The JSON also carries the test
digits' codes for the map. Because the weights come from the same trained model
as every other figure, the explorer cannot drift.

Half precision changes the decoder's output a little; the largest change of a
pixel over a grid of codes is recorded, so the prose can state it.
"""

import json

import numpy as np
import torch

from vae.data import test_inputs

PAGE = "explorer.md"
MODELS = ("vae-2d",)
GRID = 41  # codes per axis for the rounding check
EXTENT = 4.0  # the rounding check covers [-EXTENT, EXTENT]^2


def decoder_output(model, z):
    with torch.no_grad():
        return model.decode_mean(z).reshape(len(z), -1)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vae-2d")
    model = run.model
    state = {k: v.detach().float() for k, v in model.state_dict().items()}

    parts, sizes = {}, 0
    for part in ("decoder", "encoder"):
        chunks, index, offset = [], [], 0
        for name, tensor in state.items():
            if not name.startswith(part + "."):
                continue
            half = tensor.numpy().astype("<f2")
            chunks.append(half.tobytes())
            index.append({"name": name, "shape": list(tensor.shape), "offset": offset})
            offset += half.nbytes
        filename = f"vae-2d-{part}.bin"
        ctx.save(filename, b"".join(chunks))
        parts[part] = {"file": filename, "tensors": index}
        sizes += offset

    x = test_inputs(dataset, run.config.data.binarize)
    with torch.no_grad():
        codes = model.encode(x).mu.numpy()
    spec = {
        "dtype": "float16",
        "parts": parts,
        "image_shape": list(run.config.model.image_shape),
        "latent_dim": run.config.model.latent_dim,
        "likelihood": run.config.model.likelihood,
        "points": np.round(codes, 3).tolist(),
        "labels": dataset.test_labels.tolist(),
    }
    ctx.save("vae-2d.json", (json.dumps(spec, separators=(",", ":")) + "\n").encode())

    # How much half precision moves the decoder's pixels.
    axis = torch.linspace(-EXTENT, EXTENT, GRID)
    z = torch.cartesian_prod(axis, axis)
    full = decoder_output(model, z)
    model.load_state_dict({k: v.half().float() for k, v in state.items()})
    rounded = decoder_output(model, z)
    ctx.number("rounding_max_pixel_change", float((full - rounded).abs().max()))
    ctx.number("weights_kib", sizes / 1024)
    ctx.number("decoder_kib", len(ctx.files["vae-2d-decoder.bin"]) / 1024)
    ctx.number("grid_extent", EXTENT)
