"""VAEs Explained: autoencoders, a noisy autoencoder and the variational
autoencoder, with the objectives, data and training loop that the article's
figures are drawn from.

Importing the package is cheap and has no side effects; the submodules
(`vae.models`, `vae.objectives`, `vae.data`, `vae.train`, `vae.checkpoint`)
hold the code.
"""

__version__ = "0.1.0"
