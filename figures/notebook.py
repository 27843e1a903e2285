"""Executes the notebook page, docs/notebook.ipynb, so that the site shows
its real outputs. The executed copy replaces the source page when the site is
built; outputs with a warning, an error or a local path fail the build.

The kernel runs in its own process, where the engine cannot see what it
imports, so the `vae` modules the notebook's cells import are read from the
cells themselves, with everything those modules import in turn.
"""

import ast
import itertools
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vae.site.fingerprint import import_closure, module_path

PAGE = "notebook.ipynb"
TIMEOUT_S = 600
# vae.train imports tqdm.auto for its progress bar even when no bar is shown,
# and in a kernel without Jupyter widgets tqdm warns about a bar it will never
# draw; the kernel ignores that one warning.
KERNEL_WARNINGS = "ignore:IProgress not found"  # the start of tqdm's message


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
                names = [f"{node.module}.{a.name}" for a in node.names]
                names.append(node.module)
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "vae":
                    found.update(import_closure(name))
    return found


def unwanted_output(notebook, paths) -> list[str]:
    """What the outputs show that a reader should not see: anything written to
    stderr (warnings included), errors, and any of the local `paths`."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"an error: {output.ename}")
            elif output.get("name") == "stderr":
                found.append(f"stderr: {output.text.strip()[:200]}")
            data = output.get("data", {})
            kinds = ("text/plain", "text/html")
            texts = [output.get("text", "")] + [data.get(k, "") for k in kinds]
            for text, path in itertools.product(texts, paths):
                if str(path) in text:
                    found.append(f"the local path {path}")
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
    client.execute(env={**os.environ, "PYTHONWARNINGS": KERNEL_WARNINGS})
    unwanted = unwanted_output(notebook, (ctx.root, Path.home()))
    if unwanted:
        raise ValueError("the notebook's outputs show " + "; ".join(unwanted))
    ctx.save(PAGE, nbformat.writes(notebook).encode())
