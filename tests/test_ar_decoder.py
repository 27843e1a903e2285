"""The autoregressive decoder: its mask, teacher-forced log p(x|z) against
torch.distributions, sequential sampling against teacher forcing, the MLP
decoder left as it was, configs, the command line and a short training run."""

import pytest
import torch
from torch.autograd.functional import jacobian
from torch.distributions import Bernoulli

from vae import exact, models
from vae.arguments import build_parser
from vae.checkpoint import load_run
from vae.cli import main
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.data import load_dataset
from vae.errors import ConfigError
from vae.models import build_model
from vae.networks import AutoregressiveDecoder, Decoder, Encoder
from vae.train import train

SMALL = {"hidden_sizes": (16,), "latent_dim": 3}
P = 28 * 28  # pixels


def generator(seed):
    return torch.Generator().manual_seed(seed)


def codes(n, seed=0):
    return torch.randn(n, 3, generator=generator(seed))


def images(n, seed=0):
    return torch.bernoulli(torch.full((n, 28, 28), 0.3), generator=generator(seed))


def ar_model(scale=0.05, **config):
    """A small autoregressive VAE with a random W (a fresh one's is zero)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(decoder="autoregressive", **{**SMALL, **config}))
    with torch.no_grad():
        model.decoder.context.normal_(0.0, scale, generator=generator(1))
    return model


def reference_logits(model, z, x):
    """l_p = m_p(z) + sum_{q<p} W_pq x_q, one pixel at a time, from the decoder's
    layers and W (not through its mask or its forward pass)."""
    decoder = model.decoder
    m = decoder.output(decoder.body(z))  # (B, P)
    w, flat = decoder.context, x.flatten(start_dim=1)
    context = torch.stack([flat[:, :p] @ w[p, :p] for p in range(P)], dim=1)  # (B, P)
    return (m + context).view_as(x)


def reference_log_px(model, z, x):
    """log p(x|z) per example: the sum over pixels of Bernoulli log-probabilities."""
    return Bernoulli(logits=reference_logits(model, z, x)).log_prob(x).sum(dim=(1, 2))


# -- the mask and teacher forcing -----------------------------------------------------


def test_each_logit_depends_only_on_the_pixels_before_it():
    model = ar_model()
    z, x = codes(1), images(1).flatten()

    def logits(pixels):
        return model.likelihood_params(z, pixels.view(1, 28, 28)).flatten()

    jac = jacobian(logits, x, vectorize=True)  # (P, P): d l_p / d x_q
    assert torch.equal(jac, jac.tril(-1))  # strictly lower-triangular
    below = torch.ones(P, P, dtype=torch.bool).tril(-1)
    assert (jac[below] != 0).all()  # and every pixel before p is read
    torch.testing.assert_close(jac, model.decoder.context.detach().tril(-1))
    # The mask is rebuilt with the decoder, not saved with the weights.
    assert "decoder.mask" not in model.state_dict() and "decoder.context" in model.state_dict()


def test_teacher_forced_log_likelihood_is_the_sum_of_bernoulli_log_probs(monkeypatch):
    model, x = ar_model(), images(4)
    with torch.no_grad():
        posterior = model.encode(x)
        z = model.sample_posterior(posterior, generator(2))  # the code `terms` draws
        terms = model.terms(x, generator(2))
        torch.testing.assert_close(terms.log_px_given_z, reference_log_px(model, z, x))
        # k codes per example, decoded in pieces of two codes and one.
        monkeypatch.setattr(models, "DECODE_ROWS", 2 * len(x))
        z_k, log_qz = model.sample_codes(posterior, generator(3), k=3)  # (3, B, D), (3, B)
        expected = torch.stack([reference_log_px(model, z_i, x) for z_i in z_k])  # (3, B)
        sampled = model.sample_terms(x, 3, generator(3))
        torch.testing.assert_close(sampled.log_px_given_z, expected)
        log_w = model.log_weights(x, 3, generator(3))
        torch.testing.assert_close(log_w, expected + model.log_prior(z_k) - log_qz)
        mean = model.reconstruction_term(x, 1, generator(2), posterior)
        torch.testing.assert_close(mean, reference_log_px(model, z, x))


def test_the_logits_are_float32_under_bfloat16_autocast():
    model = ar_model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model.likelihood_params(codes(2), images(2))
    assert logits.dtype == torch.float32


# -- sampling -------------------------------------------------------------------------


def test_sampling_draws_each_pixel_from_the_logits_teacher_forcing_gives():
    model, z = ar_model(scale=0.5), codes(3)
    x, logits = model.decoder.sample(z, generator(4))
    assert x.shape == logits.shape == (3, 28, 28)
    assert set(x.unique().tolist()) == {0.0, 1.0}
    with torch.no_grad():
        torch.testing.assert_close(logits, reference_logits(model, z, x))
    # `decode` draws the same images from the same generator.
    assert torch.equal(model.decode(z, generator(4)), x)


@pytest.mark.parametrize("first", [0.0, 1.0])
def test_each_pixel_is_drawn_given_the_pixels_drawn_before_it(first):
    """A chain: pixel 0 is surely on or surely off, and each later pixel copies
    the one before it, so the whole image takes pixel 0's value."""
    model = build_model(ModelConfig(decoder="autoregressive", **SMALL))
    decoder = model.decoder
    with torch.no_grad():
        decoder.output.weight.zero_()
        decoder.output.bias.fill_(-30.0)  # off, unless the pixel before is on
        decoder.output.bias[0] = 30.0 if first else -30.0
        p = torch.arange(1, P)
        decoder.context[p, p - 1] = 60.0
    x = model.sample_prior(5, generator(5))
    assert torch.equal(x, torch.full((5, 28, 28), first))


def test_a_fresh_autoregressive_decoder_is_the_plain_decoder():
    """W starts at zero: the same numbers as the MLP decoder of the same seed, and
    samples whose pixels average to its mean image."""
    torch.manual_seed(0)
    plain = build_model(ModelConfig(**SMALL))
    torch.manual_seed(0)
    fresh = build_model(ModelConfig(decoder="autoregressive", **SMALL))
    assert not fresh.decoder.context.any()
    x, z = images(4), codes(1)
    with torch.no_grad():
        assert torch.equal(
            fresh.terms(x, generator(6)).log_px_given_z, plain.terms(x, generator(6)).log_px_given_z
        )
        mean = plain.decode_mean(z)[0]
    samples = fresh.decode(z.expand(2000, 3), generator(7))
    # Each pixel's frequency is within 0.05 (4.5 standard errors at most) of its probability.
    torch.testing.assert_close(samples.mean(dim=0), mean, atol=0.05, rtol=0)


def test_an_autoregressive_decoder_has_no_mean_image():
    model, z = ar_model(), codes(2)
    with pytest.raises(ValueError, match="no mean image"):
        model.decode_mean(z)
    with pytest.raises(ValueError, match="pass x"):
        model.likelihood_params(z)
    reconstructions = model.reconstruct(images(2), generator(8))
    assert reconstructions.shape == (2, 28, 28)
    assert set(reconstructions.unique().tolist()) <= {0.0, 1.0}


def test_the_grid_refuses_an_autoregressive_decoder():
    model = ar_model(latent_dim=2)
    with pytest.raises(ValueError, match="autoregressive decoder's p\\(x\\|z\\) needs a decoder"):
        exact.log_likelihood_matrix(model, images(2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="autoregressive"):
        exact.log_marginal(model, images(2))


# -- the MLP decoder is as it was -------------------------------------------------------


def test_the_mlp_decoder_is_unchanged():
    config = ModelConfig(**SMALL)
    assert config.to_dict() == {
        "kind": "vae",
        "image_shape": [28, 28],
        "hidden_sizes": [16],
        "latent_dim": 3,
        "likelihood": "bernoulli",
        "noise_sigma": 1.0,
        "observation_sigma": 0.1,
    }
    torch.manual_seed(0)
    model = build_model(config)
    assert type(model.decoder) is Decoder
    assert list(model.state_dict()) == [
        "encoder.body.0.weight",
        "encoder.body.0.bias",
        "encoder.mean.weight",
        "encoder.mean.bias",
        "encoder.logvar.weight",
        "encoder.logvar.bias",
        "decoder.body.0.weight",
        "decoder.body.0.bias",
        "decoder.output.weight",
        "decoder.output.bias",
    ]
    # The same initial weights as the two networks built alone, in that order.
    torch.manual_seed(0)
    encoder, decoder = Encoder(config, learn_logvar=True), Decoder(config)
    for mine, alone in ((model.encoder, encoder), (model.decoder, decoder)):
        for a, b in zip(mine.state_dict().values(), alone.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    z, x = codes(4), images(4)
    with torch.no_grad():
        assert torch.equal(model.likelihood_params(z, x), decoder(z))  # x is not read
        assert torch.equal(model.decode(z), torch.sigmoid(decoder(z)))
        codes_drawn = model.sample_codes_from_prior(4, generator(9))
        assert torch.equal(model.sample_prior(4, generator(9)), model.decode_mean(codes_drawn))


# -- configs and the command line ----------------------------------------------------------


def test_the_decoder_is_a_later_field_that_round_trips():
    assert "decoder" not in ModelConfig().to_dict()
    config = ModelConfig(decoder="autoregressive")
    assert config.to_dict()["decoder"] == "autoregressive"
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict({"kind": "vae"}).decoder == "mlp"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"decoder": "pixelcnn"}, "decoder must be one of mlp, autoregressive, got 'pixelcnn'"),
        ({"kind": "ae"}, "needs model vae and a bernoulli likelihood, not ae and bernoulli"),
        ({"kind": "vq-vae"}, "needs model vae and a bernoulli likelihood, not vq-vae"),
        ({"likelihood": "gaussian"}, "a bernoulli likelihood, not vae and gaussian"),
        ({"likelihood": "gaussian-learned"}, "not vae and gaussian-learned"),
    ],
)
def test_bad_decoder_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as error:
        ModelConfig(**{"decoder": "autoregressive", **settings})
    assert message in str(error.value)


def test_the_command_line_parses_the_decoder(capsys):
    parser = build_parser()
    assert parser.parse_args(["train", "--out", "x"]).decoder == "mlp"
    args = parser.parse_args(["train", "--out", "x", "--decoder", "autoregressive"])
    assert args.decoder == "autoregressive"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--out", "x", "--decoder", "pixelcnn"])
    assert "invalid choice: 'pixelcnn'" in capsys.readouterr().err


# -- training ----------------------------------------------------------------------------


def test_an_autoregressive_vae_trains():
    config = RunConfig(
        ModelConfig(decoder="autoregressive", **SMALL),
        DataConfig(),
        TrainConfig(epochs=1, batch_size=64),
    )
    dataset = load_dataset(config.data.dataset).subset(train=640, test=100)
    model, history = train(config, dataset, progress=False)
    [row] = history
    # `train` also refuses a model whose test loss ends above the untrained one's.
    assert all(torch.isfinite(torch.tensor(v)) for v in row.values())
    w = model.decoder.context.detach()
    assert w.tril(-1).abs().sum() > 0 and not w.triu().any()  # W learned below its diagonal


def test_train_save_and_sample_an_autoregressive_vae_from_the_command_line(tmp_path):
    out = tmp_path / "ar"
    argv = ["train", "--hidden", "16", "--epochs", "1", "--device", "cpu"]
    assert main([*argv, "--decoder", "autoregressive", "--out", str(out)]) == 0
    run = load_run(out)
    assert run.config.model.decoder == "autoregressive"
    assert isinstance(run.model.decoder, AutoregressiveDecoder)
    assert torch.equal(run.model.decoder.mask, torch.ones(P, P).tril(-1))
    assert run.model.sample_prior(2, generator(10)).shape == (2, 28, 28)
