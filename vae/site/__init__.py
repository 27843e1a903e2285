"""The site machinery: what turns the `vae` library into the article's figures,
numbers and pages.

- `project`: a checkout, its figure scripts and what each declares;
- `scheduler`, `launcher`: what is stale, and the task graph of model
  trainings and figures, run on worker processes;
- `worker`, `context`: one task in a fresh process; the `FigureContext` a script sees;
- `store`, `fingerprint`, `experiments`: the trained models, their cache keys,
  and the named experiments the figures ask for;
- `plotting`, `diagram`: the figures' style and byte-stable writers; diagram pieces;
- `placeholders`, `pages`: the Markdown extensions that put the numbers into
  the pages and write the figure-scripts page (MkDocs and Zensical run both);
- `publish`: the outputs copied into docs/ where any builder finds them;
- `mkdocs_plugin`: the only module that imports MkDocs;
- `assets`, `notebook_html`, `html`, `splices`, `finish`, `browser`: vendored
  KaTeX and axe-core, the notebook page, page HTML made accessible, finished
  pages kept between builds, the site in a real browser;
- `bench_site`, `cli`: the site benchmark and the site's commands.
"""
