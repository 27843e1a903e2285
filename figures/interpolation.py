"""A straight line through latent space between the codes of two test digits,
decoded at evenly spaced points, for the autoencoder and the VAE.

The two digits are chosen by a rule that looks only at the VAE's map, since of
the two models only the VAE has an aggregate posterior q(z), the mixture of the
training digits' q(z|x). Each class is represented by its typical test digit:
the one whose code lies nearest the median of its class's codes. Of all pairs of
classes, the pair kept is the one whose straight line passes through the lowest
density ratio q(z) / p(z), the ratio whose small values are the holes
(`vae.paths.deepest_crossing`). The autoencoder's line joins the same two
digits in its own map.

Along each line, every decoded image is compared with the training images by
its cosine distance to the nearest one (`vae.paths.nearest_cosine_distance`),
against the same distance for the model's reconstructions of the test digits.
A fainter or bolder copy of an image has the same cosine distance, so the
measure does not favour images with less ink, as a difference of pixels does;
the script checks this on the reconstructions, where the measure's rank
correlation with the amount of ink must stay under INK_LIMIT, and records it
beside the root-mean-square difference's.
"""

import numpy as np
import torch

from vae.aggregate import nearest_neighbour_distances, rank_correlation
from vae.data import binarize, fixed_generator, test_inputs, to_unit_interval
from vae.errors import VAEError
from vae.paths import deepest_crossing, nearest_cosine_distance, segment
from vae.site import plotting
from vae.words import counted, crossing_words, ordinal

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "vae-2d")
TITLES = {"ae-2d": "autoencoder", "vae-2d": "VAE"}
STEPS = 10  # decoded points on each line, ends included
PROBES = 200  # points per line where q(z) / p(z), or the distance to the codes, is taken
REFERENCE_QUANTILE = 0.9  # the reconstructions' quantile a decoded image is set against
INK_LIMIT = 0.5  # the largest rank correlation of the measure with ink that passes


def typical_digits(codes: torch.Tensor, labels: torch.Tensor, classes: int) -> list[int]:
    """For each class, the test digit whose code is nearest the median of its class's codes."""
    typical = []
    for c in range(classes):
        members = (labels == c).nonzero().flatten()
        centre = codes[members].median(dim=0).values
        typical.append(int(members[(codes[members] - centre).norm(dim=1).argmin()]))
    return typical


def ink_correlations(reconstructions, train_gray):
    """Over the reconstructions: the rank correlation with their amount of ink of the
    cosine distance to the nearest training image, and of the RMS pixel difference."""
    ink = reconstructions.flatten(1).sum(dim=1)
    pixels = train_gray[0].numel()
    rms = torch.cdist(reconstructions.flatten(1), train_gray.flatten(1)).min(dim=1).values
    cosine = nearest_cosine_distance(reconstructions, train_gray)
    return rank_correlation(cosine, ink), rank_correlation(rms / pixels**0.5, ink)


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels
    classes = len(dataset.class_names)
    train_gray = to_unit_interval(dataset.train_images)
    x = test_inputs(dataset, "dynamic")
    runs = {name: ctx.model(name) for name in MODELS}
    # Both models are fed the same inputs, so their codes are comparable digit by digit.
    train_x = binarize(train_gray, fixed_generator())
    with torch.no_grad():
        test_codes = {name: run.model.encode(x).mu for name, run in runs.items()}
        train_q = {name: run.model.encode(train_x) for name, run in runs.items()}

    typical = typical_digits(test_codes["vae-2d"], labels, classes)
    pairs = [(i, j) for i in range(classes) for j in range(i + 1, classes)]
    q = train_q["vae-2d"]
    (i, j), log_ratio = deepest_crossing(
        test_codes["vae-2d"][typical], pairs, q.mu, q.logvar, PROBES
    )
    first, last = typical[i], typical[j]

    rows, distances, beyond = {}, {}, {}
    for name, run in runs.items():
        codes = test_codes[name]
        with torch.no_grad():
            rows[name] = run.model.decode_mean(segment(codes[first], codes[last], STEPS))
            reconstructions = run.model.decode_mean(codes)
        along = nearest_cosine_distance(rows[name], train_gray).numpy()
        reference = nearest_cosine_distance(reconstructions, train_gray).numpy()
        limit = float(np.quantile(reference, REFERENCE_QUANTILE))
        distances[name] = (along, limit)
        beyond[TITLES[name]] = int((along > limit).sum())
        ctx.words(f"{name.replace('-', '_')}_beyond", counted(beyond[TITLES[name]]))
        if name == "vae-2d":
            cosine_ink, rms_ink = ink_correlations(reconstructions, train_gray)
            if abs(cosine_ink) > INK_LIMIT:
                raise VAEError(f"interpolation: the measure follows ink ({cosine_ink:.2f})")
            ctx.number("cosine_ink_correlation", cosine_ink)
            ctx.number("rms_ink_correlation", rms_ink)

    # The autoencoder has no q(z): its gap is the line's largest distance from every
    # training code, in units of the median distance from a code to its nearest neighbour.
    train_mu = train_q["ae-2d"].mu
    spacing = float(nearest_neighbour_distances(train_mu).median())
    probes = segment(test_codes["ae-2d"][first], test_codes["ae-2d"][last], PROBES)
    ctx.number("ae_2d_gap", float(torch.cdist(probes, train_mu).min(dim=1).values.max() / spacing))
    ctx.number("crossing_ratio", float(np.exp(log_ratio)))
    ctx.words("crossing", crossing_words(beyond))
    draw(ctx, dataset, x, first, last, rows, distances, test_codes, train_q)

    ctx.number("steps", STEPS)
    ctx.number("reference_percent", round(100 * REFERENCE_QUANTILE))
    ctx.words("reference_percentile", ordinal(round(100 * REFERENCE_QUANTILE)))
    ctx.words("start_class", dataset.class_names[int(labels[first])])
    ctx.words("end_class", dataset.class_names[int(labels[last])])
    ctx.number("pairs", len(pairs))


def draw(ctx, dataset, x, first, last, rows, distances, test_codes, train_q):
    """The rows of decoded images with the measure below them, and the lines on the maps."""
    fig = plotting.canvas((plotting.CONTENT_WIDTH, 4.8))
    top, bottom = fig.subfigures(2, 1, height_ratios=(2.0, 2.8))
    strips = top.subplots(2, 1)
    for ax, name in zip(strips, MODELS, strict=True):
        images = torch.cat([x[first : first + 1], rows[name], x[last : last + 1]]).numpy()
        title = f"{TITLES[name]}: test digit, {STEPS} decoded points, test digit"
        plotting.digits(ax, images, STEPS + 2, title)
    ax = bottom.subplots()
    t = np.linspace(0, 1, STEPS)
    for (name, (values, limit)), marker, color in zip(
        distances.items(), ("s", "o"), ("#6d4c41", "#1565c0"), strict=True
    ):
        ax.plot(t, values, marker=marker, color=color, label=TITLES[name])
        ax.axhline(limit, color=color, linestyle=":", linewidth=1.2)
    ax.set_xlabel("position on the line")
    ax.set_ylabel("cosine distance to the\nnearest training image")
    ax.legend(loc="lower right")
    plotting.check_text_size(fig)
    ctx.save("ae-vs-vae.svg", plotting.svg_bytes(fig))

    fig, axes = plotting.figure(1, 2, figsize=(plotting.CONTENT_WIDTH, 3.6))
    for ax, name in zip(axes, MODELS, strict=True):
        codes = train_q[name].mu.numpy()
        plotting.latent_scatter(ax, codes, dataset.train_labels.numpy(), TITLES[name])
        line = segment(test_codes[name][first], test_codes[name][last], STEPS).numpy()
        ax.plot(line[:, 0], line[:, 1], color=plotting.INK, marker="o", markersize=4, linewidth=1.5)
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("lines.svg", plotting.svg_bytes(fig))
