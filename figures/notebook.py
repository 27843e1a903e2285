"""Executes the notebook page, docs/notebook.ipynb, so that the site shows its
real outputs. The executed copy replaces the source page when the site is built.

The kernel runs in its own process, where the engine cannot see what it
imports, so the `vae` modules the notebook's cells import are read from the
cells themselves, with everything those modules import in turn.
"""

import ast

import nbformat
from nbclient import NotebookClient

from vae.site.fingerprint import import_closure, module_path

PAGE = "notebook.ipynb"
TIMEOUT_S = 600


def imported_modules(notebook) -> set[str]:
    """The `vae` modules the code cells import, with their import closures."""
    found = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # IPython's magics and shell escapes are not Python.
        code = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "vae":
                    found.update(import_closure(name))
    return found


def make(ctx):
    path = ctx.root / "docs" / PAGE
    ctx.depend_on(path)
    notebook = nbformat.read(path, as_version=4)
    for module in sorted(imported_modules(notebook)):
        ctx.depend_on(module_path(module, ctx.root / "vae"))
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        record_timing=False,  # no timestamps, so two builds give the same file
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    ctx.save(PAGE, nbformat.writes(notebook).encode())
