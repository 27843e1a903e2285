"""VAEs Explained: autoencoders, a noisy autoencoder and the variational
autoencoder, with the objectives, data and training loop that the article's
figures are drawn from, and the pipeline that draws them.

Importing the package is cheap and has no side effects. The layers, by module:

- computation: `vae.models`, `vae.objectives`, `vae.config`;
- data: `vae.datafiles`, `vae.data`, `vae.download`;
- orchestration: `vae.train`, `vae.experiments`;
- caching: `vae.checkpoint`, `vae.artifacts`, `vae.atomic`;
- presentation: `vae.plotting`, `vae.pipeline`, `vae.mkdocs_hook`, `vae.assets`,
  `vae.notebook_html`, `vae.browser`;
- the command line and benchmarks: `vae.cli`, `vae.bench`, `vae.bench_site`.
"""

__version__ = "0.1.0"
