"""Executes the notebook page, docs/notebook.ipynb, so that the site shows its
real outputs. The executed copy replaces the source page when the site is built.

The kernel runs in its own process, where this pipeline cannot see what it
imports, so every module of the package counts as a dependency.
"""

import nbformat
from nbclient import NotebookClient

PAGE = "notebook.ipynb"
TIMEOUT_S = 600


def make(ctx):
    path = ctx.root / "docs" / PAGE
    ctx.depend_on(path)
    for module in sorted((ctx.root / "vae").glob("*.py")):
        ctx.depend_on(module)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        record_timing=False,  # no timestamps, so two builds give the same file
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    ctx.save(PAGE, nbformat.writes(notebook).encode())
