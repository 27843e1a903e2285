"""VAEs Explained: an autoencoder, a noisy autoencoder and the variational
autoencoder, with the objectives, data and training loop the article is drawn
from.

The package has two halves. The library, in `vae` itself, is what a reader could
lift into a project of their own:

- computation: `vae.models`, `vae.networks`, `vae.families`, `vae.flows`,
  `vae.priors`, `vae.vq`, `vae.objectives`, `vae.losses`, `vae.config`;
- the exact 2-D analysis: `vae.exact`, `vae.gaps`, `vae.best_gaussian`, `vae.posterior`,
  `vae.aggregate`, `vae.bounds`, `vae.stats`, and `vae.words` for the words
  the prose takes from the numbers;
- data: `vae.datafiles`, `vae.data`, `vae.download`;
- one training run: `vae.train`, `vae.precision`, `vae.hardware`,
  `vae.checkpoint`, `vae.atomic`, `vae.versions`;
- the command line and the trainer benchmark: `vae.cli`, `vae.arguments`, `vae.bench`.

The site machinery, in `vae.site`, builds the article from the library: the
figure engine (`project`, `scheduler`, `launcher`, `worker`, `context`), the
model store (`store`, `fingerprint`, `experiments`), plotting, the Markdown
extensions and the MkDocs plugin, vendored browser assets, the notebook page,
the browser helpers and the site benchmark. Imports
point one way: `vae.site` uses the library, never the reverse.

Importing the package is cheap and has no side effects.
"""

__version__ = "0.1.0"
