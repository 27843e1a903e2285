"""The site machinery: what turns the `vae` library into the article's figures,
numbers and pages.

- `project`: a checkout, its figure scripts and what each declares;
- `scheduler`: what is stale, and the task graph of model trainings and figures;
- `worker`, `context`: one task in a fresh process; the `FigureContext` a script sees;
- `store`, `fingerprint`, `experiments`: the trained models, their cache keys,
  and the named experiments the figures ask for;
- `plotting`: the figures' style and byte-stable writers;
- `pages`: the generated figure-scripts page;
- `mkdocs_hook`: the only module that imports MkDocs;
- `assets`, `notebook_html`, `html`, `browser`: vendored KaTeX and axe-core,
  the notebook page, page HTML made accessible, the site in a real browser;
- `bench_site`, `cli`: the site benchmark and the site's commands.
"""
