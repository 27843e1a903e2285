"""A straight line through latent space between the codes of two test digits,
decoded at evenly spaced points, for the autoencoder and the VAE.

The two digits are chosen by a rule that looks only at the autoencoder's map.
Each class is represented by its typical test digit: the one whose code lies
nearest the median of its class's codes. Of all pairs of classes, the pair kept
is the one whose straight line passes farthest from every training code, measured
in units of the typical distance between a training code and its nearest
neighbour. So the autoencoder's line crosses the widest gap its map has between
two typical digits.

Along each line, every decoded image is compared with the training images: the
root-mean-square pixel difference to the nearest one. A decoded image that is
far from every training digit is not something the data contain.
"""

import numpy as np
import torch

from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "vae-2d")
TITLES = {"ae-2d": "autoencoder", "vae-2d": "VAE"}
STEPS = 10  # decoded points on each line, ends included
PROBES = 200  # points per line when measuring how far it runs from the codes


def encode(run, x):
    with torch.no_grad():
        return run.model.encode(x).mu


def gap_along(line: torch.Tensor, codes: torch.Tensor, spacing: float) -> torch.Tensor:
    """Distance from each point of `line` to the nearest of `codes`, in units of `spacing`."""
    return torch.cdist(line, codes).min(dim=1).values / spacing


def neighbour_spacing(codes: torch.Tensor) -> float:
    """The median distance from a code to its nearest neighbour among the others."""
    distances = torch.cdist(codes, codes)
    distances.fill_diagonal_(float("inf"))
    return float(distances.min(dim=1).values.median())


def segment(a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    t = torch.linspace(0, 1, n).unsqueeze(1)  # (n, 1)
    return (1 - t) * a + t * b  # (n, D)


def choose_ends(test_codes, labels, train_codes, classes):
    """The rule of the module docstring: (first index, last index, the gap crossed)."""
    spacing = neighbour_spacing(train_codes)
    typical = []
    for c in range(classes):
        members = (labels == c).nonzero().flatten()
        centre = test_codes[members].median(dim=0).values
        typical.append(int(members[(test_codes[members] - centre).norm(dim=1).argmin()]))
    best = (0, 0, -1.0)
    for i in range(classes):
        for j in range(i + 1, classes):
            a, b = test_codes[typical[i]], test_codes[typical[j]]
            gap = float(gap_along(segment(a, b, PROBES), train_codes, spacing).max())
            if gap > best[2]:
                best = (typical[i], typical[j], gap)
    return best


def nearest_training_distance(images: torch.Tensor, train: torch.Tensor) -> np.ndarray:
    """RMS pixel difference from each image to its nearest training image."""
    distances = torch.cdist(images.flatten(1), train.flatten(1)) / train[0].numel() ** 0.5
    return distances.min(dim=1).values.numpy()


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels
    classes = len(dataset.class_names)
    train_gray = to_unit_interval(dataset.train_images)
    x = test_inputs(dataset, "dynamic")
    runs = {name: ctx.model(name) for name in MODELS}
    # Both models are fed the same inputs, so their codes are comparable digit by digit.
    test_codes = {name: encode(run, x) for name, run in runs.items()}
    train_x = binarize(train_gray, fixed_generator())
    train_codes = {name: encode(run, train_x) for name, run in runs.items()}

    first, last, _ = choose_ends(test_codes["ae-2d"], labels, train_codes["ae-2d"], classes)
    rows, distances = {}, {}
    for name, run in runs.items():
        codes = test_codes[name]
        line = segment(codes[first], codes[last], STEPS)
        with torch.no_grad():
            rows[name] = run.model.decode_mean(line)
            reconstructions = run.model.decode_mean(codes)
        distances[name] = nearest_training_distance(rows[name], train_gray)
        reference = float(np.median(nearest_training_distance(reconstructions, train_gray)))
        probes = segment(codes[first], codes[last], PROBES)
        gap = gap_along(probes, train_codes[name], neighbour_spacing(train_codes[name]))
        key = name.replace("-", "_")
        ctx.number(f"{key}_path_max", float(distances[name].max()))
        ctx.number(f"{key}_reference", reference)
        ctx.number(f"{key}_gap", float(gap.max()))
        distances[name] = (distances[name], reference)

    # Rows of images, each framed by the two test digits, and the measure below.
    fig = plotting.canvas((plotting.CONTENT_WIDTH, 4.8))
    top, bottom = fig.subfigures(2, 1, height_ratios=(2.0, 2.8))
    strips = top.subplots(2, 1)
    for ax, name in zip(strips, MODELS, strict=True):
        images = torch.cat([x[first : first + 1], rows[name], x[last : last + 1]]).numpy()
        title = f"{TITLES[name]}: test digit, {STEPS} decoded points, test digit"
        plotting.digits(ax, images, STEPS + 2, title)
    ax = bottom.subplots()
    t = np.linspace(0, 1, STEPS)
    for (name, (values, reference)), marker, color in zip(
        distances.items(), ("s", "o"), ("#6d4c41", "#1565c0"), strict=True
    ):
        ax.plot(t, values, marker=marker, color=color, label=TITLES[name])
        ax.axhline(reference, color=color, linestyle=":", linewidth=1.2)
    ax.set_xlabel("position on the line")
    ax.set_ylabel("RMS distance to the\nnearest training image")
    ax.legend(loc="lower left")
    plotting.check_text_size(fig)
    ctx.save("ae-vs-vae.svg", plotting.svg_bytes(fig))

    # The two lines on their maps.
    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 3.6))
    for ax, name in zip(axes, MODELS, strict=True):
        plotting.latent_scatter(
            ax, train_codes[name].numpy(), dataset.train_labels.numpy(), TITLES[name]
        )
        line = segment(test_codes[name][first], test_codes[name][last], STEPS).numpy()
        ax.plot(line[:, 0], line[:, 1], color=plotting.INK, marker="o", markersize=4, linewidth=1.5)
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("lines.svg", plotting.svg_bytes(fig))

    ctx.number("steps", STEPS)
    ctx.words("start_class", dataset.class_names[int(labels[first])])
    ctx.words("end_class", dataset.class_names[int(labels[last])])
    ctx.number("pairs", classes * (classes - 1) // 2)
    ctx.number("train_examples", len(train_gray))
