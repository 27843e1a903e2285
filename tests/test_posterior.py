"""The shape of a posterior on the grid (`vae.posterior`) against constructed
posteriors whose peaks and densities are known in closed form, and the ellipses
of a 2-D Gaussian against the chi-square distribution and Monte Carlo."""

import math

import pytest
import torch

from vae import posterior as shape
from vae.exact import GridPosterior

STEP = 0.05
SD = 0.3


def mixture_on_grid(centres, weights, sd=SD, step=STEP, limit=3.0):
    """A posterior on a square grid: a mixture of N(c, sd^2 I) with the given weights."""
    axis = torch.arange(-limit, limit + step / 2, step, dtype=torch.float64)
    z = torch.cartesian_prod(axis, axis)  # (P, 2)
    components = torch.distributions.Independent(
        torch.distributions.Normal(torch.tensor(centres, dtype=torch.float64), sd), 1
    )
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.tensor(weights, dtype=torch.float64)), components
    )
    log_density = mixture.log_prob(z)
    posterior = GridPosterior(
        log_px=torch.zeros(1, dtype=torch.float64),
        z=z[None],
        log_joint=log_density[None],
        step=step,
        mass=torch.ones(1, dtype=torch.float64),
    )
    return posterior, mixture


@pytest.fixture(scope="module")
def two_peaks():
    """An even mixture of N((-1, 0), 0.3^2 I) and N((1, 0), 0.3^2 I)."""
    return mixture_on_grid([[-1.0, 0.0], [1.0, 0.0]], [0.5, 0.5])


def test_peaks_are_found_at_the_components_centres(two_peaks):
    posterior, _ = two_peaks
    codes, heights = shape.peak_cells(posterior, 0)
    assert shape.count_peaks(posterior, 0) == 2
    # Each mode lies on a cell centre here, and the two are equally high.
    found = sorted(codes.tolist())
    for code, centre in zip(found, ([-1.0, 0.0], [1.0, 0.0]), strict=True):
        assert code == pytest.approx(centre, abs=1e-9)
    assert heights[0] >= heights[1]
    assert heights[0].item() == pytest.approx(heights[1].item(), abs=1e-9)


def test_a_bump_below_the_floor_is_not_a_peak():
    # A third component of weight 1/200: its peak is about 1/100 of the others'.
    centres = [[-1.5, 0.0], [1.5, 0.0], [0.0, 2.0]]
    posterior, mixture = mixture_on_grid(centres, [0.5, 0.5, 0.005 * 0.9])
    ratio = math.exp(
        mixture.log_prob(torch.tensor([0.0, 2.0])) - mixture.log_prob(torch.tensor([1.5, 0.0]))
    )
    assert 0.005 < ratio < 0.01  # below the default floor, above a floor of 0.001
    assert shape.count_peaks(posterior, 0) == 2
    assert shape.count_peaks(posterior, 0, floor=0.001) == 3


def test_density_at_is_the_density_of_the_nearest_cell(two_peaks):
    posterior, mixture = two_peaks
    for point, cell in (([0.012, 0.31], [0.0, 0.3]), ([-0.97, -0.02], [-0.95, 0.0])):
        expected = mixture.log_prob(torch.tensor(cell, dtype=torch.float64))
        actual = shape.density_at(posterior, 0, torch.tensor(point, dtype=torch.float64))
        assert actual.item() == pytest.approx(expected.item(), abs=1e-9)
    # Halfway between the peaks, as a share of the highest density.
    origin = torch.zeros(2, dtype=torch.float64)
    share = torch.exp(mixture.log_prob(origin) - mixture.log_prob(torch.tensor([1.0, 0.0])))
    assert shape.relative_density(posterior, 0, origin) == pytest.approx(share.item(), rel=1e-9)


def test_place_says_on_a_peak_between_or_away(two_peaks):
    posterior, _ = two_peaks
    assert shape.place(posterior, 0, [-1.0, 0.0]) == "on"
    assert shape.place(posterior, 0, [1.02, 0.05]) == "on"
    assert shape.place(posterior, 0, [0.0, 0.1]) == "between"
    assert shape.place(posterior, 0, [0.0, 2.0]) == "away"  # over the segment, but far from it
    assert shape.place(posterior, 0, [2.5, 0.0]) == "away"  # on the line, past a peak's foot


def test_place_on_a_peak_follows_the_share_of_its_height(two_peaks):
    # Along the axis through a peak the density of one component falls as
    # exp(-d^2 / 2 sd^2): half the peak's height at d = sd sqrt(2 log 2).
    posterior, _ = two_peaks
    half = SD * math.sqrt(2 * math.log(2))
    inside, outside = 1.0 + half - 2 * STEP, 1.0 + half + 2 * STEP
    assert shape.place(posterior, 0, [inside, 0.0]) == "on"
    assert shape.place(posterior, 0, [outside, 0.0]) == "away"
    assert shape.place(posterior, 0, [outside, 0.0], on_peak=0.25) == "on"


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9, 0.99])
def test_gaussian_radius_inverts_the_chi_square_distribution(share):
    r = shape.gaussian_radius(share)
    # r^2 of a 2-D standard normal is chi-square with 2 degrees of freedom: its
    # distribution function is the regularised lower incomplete gamma P(1, t / 2).
    t = torch.tensor(r**2 / 2, dtype=torch.float64)
    assert torch.special.gammainc(
        torch.tensor(1.0, dtype=torch.float64), t
    ).item() == pytest.approx(share)
    assert shape.gaussian_share(r) == pytest.approx(share)


def test_gaussian_share_matches_monte_carlo():
    z = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    inside = (z.square().sum(1) <= 4.0).double()
    standard_error = inside.std().item() / math.sqrt(len(inside))
    assert shape.gaussian_share(2.0) == pytest.approx(inside.mean().item(), abs=4 * standard_error)


def test_gaussian_ellipse_lies_at_its_radius_and_inside_its_box():
    mu, logvar = [0.5, -1.0], [math.log(0.04), math.log(0.25)]
    z1, z2 = shape.gaussian_ellipse(mu, logvar, 0.9)
    mahalanobis = (z1 - mu[0]) ** 2 / 0.04 + (z2 - mu[1]) ** 2 / 0.25
    assert mahalanobis == pytest.approx(shape.gaussian_radius(0.9) ** 2)
    # The box touches the ellipse at its four extremes, which the 200 points
    # (t = 0 included, t = pi between two of them) reach to within 0.5%.
    (low1, high1), (low2, high2) = shape.gaussian_box(mu, logvar, 0.9)
    assert low1 <= z1.min() < low1 + 1e-3 and high1 - 1e-12 <= z1.max() <= high1 + 1e-12
    assert low2 <= z2.min() < low2 + 1e-3 and high2 - 1e-3 < z2.max() <= high2


def test_highest_density_levels_match_a_gaussians_closed_form():
    """For N(0, sd^2 I) in 2-D the region that holds a share m is the disc of
    Mahalanobis radius r(m), and its edge has density (1 - m) / (2 pi sd^2)."""
    sd, step = 0.5, 0.01
    posterior, _ = mixture_on_grid([[0.0, 0.0]], [1.0], sd=sd, step=step)
    masses = (0.5, 0.9, 0.99)
    levels = shape.highest_density_levels(posterior.log_joint[0], step**2, masses)
    expected = torch.tensor(
        sorted(math.log((1 - m) / (2 * math.pi * sd**2)) for m in masses), dtype=torch.float64
    )
    # A cell's worth of mass at the edge moves the level by about that mass / (1 - m).
    torch.testing.assert_close(levels, expected, atol=0.01, rtol=0)
    # The upper set of each level holds its share, to within the cells at its edge.
    for level, m in zip(levels.flip(0), masses, strict=True):
        held = torch.exp(posterior.log_joint[0])[posterior.log_joint[0] >= level].sum() * step**2
        assert held.item() == pytest.approx(m, abs=0.005)


def test_peak_shares_are_the_shares_of_the_ellipses_through_the_peaks(two_peaks):
    posterior, _ = two_peaks
    # N(0, I): both peaks at Mahalanobis radius 1, inside the ellipse holding 1 - e^-1/2.
    shares = shape.peak_shares(posterior, 0, [0.0, 0.0], [0.0, 0.0])
    assert shares == pytest.approx([1 - math.exp(-0.5)] * 2)
    # On the peak at (-1, 0), 0.3 wide: that peak at the centre, the other 2/0.3 radii away.
    shares = sorted(shape.peak_shares(posterior, 0, [-1.0, 0.0], [2 * math.log(SD)] * 2))
    assert shares == pytest.approx([0.0, shape.gaussian_share(2 / SD)])


def test_the_posterior_inside_a_components_ellipse_is_half_its_share(two_peaks):
    # The Gaussian is one of two equal components, whose other lies 6.7 radii away.
    posterior, _ = two_peaks
    logvar = [2 * math.log(SD)] * 2
    inside = shape.posterior_share_inside(posterior, 0, [-1.0, 0.0], logvar, 0.9)
    assert inside == pytest.approx(0.5 * 0.9, abs=0.005)  # cells at the ellipse's edge


def test_a_gaussians_share_inside_the_posteriors_region_matches_its_closed_form():
    # p = N(0, 0.5^2 I): its region holding m is the disc of radius 0.5 r(m). The
    # share of q = N(0, 1) inside a disc of radius R is 1 - e^(-R^2 / 2).
    sd, step, m = 0.5, 0.01, 0.9
    posterior, _ = mixture_on_grid([[0.0, 0.0]], [1.0], sd=sd, step=step)
    radius = sd * shape.gaussian_radius(m)
    expected = 1 - math.exp(-(radius**2) / 2)
    inside = shape.gaussian_share_inside(posterior, 0, [0.0, 0.0], [0.0, 0.0], m)
    assert inside == pytest.approx(expected, abs=0.005)


def test_overlap_from_one_within_the_other_to_far_apart(two_peaks):
    posterior, _ = two_peaks
    narrow = [2 * math.log(0.05)] * 2
    # A Gaussian much narrower than a lobe, inside it: the posterior holds nearly all of it.
    assert shape.overlap(posterior, 0, [1.0, 0.0], narrow) > 0.98
    # The lobe itself: its 99% ellipse holds half the posterior, the posterior's
    # 99% region nearly all of it.
    assert shape.overlap(posterior, 0, [-1.0, 0.0], [2 * math.log(SD)] * 2) > 0.95
    # Far from both lobes, on the grid: neither holds any of the other.
    assert shape.overlap(posterior, 0, [0.0, 2.6], narrow) < 1e-6
