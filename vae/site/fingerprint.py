"""Fingerprints of code: what the caches compare to decide what is stale.

Python source is fingerprinted by its syntax tree with docstrings removed, so
editing a comment or a docstring changes no fingerprint. The import closure of
a module is read statically from the source, imports inside functions included.
Both are remembered per file version, so checking an unchanged tree parses
nothing twice.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the `vae` package


def source_hash(path: Path) -> str:
    """SHA-256 of a Python file's syntax tree without docstrings or comments."""
    stat = Path(path).stat()
    return _source_hash(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1024)
def _source_hash(path: str, mtime_ns: int, size: int) -> str:
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def file_hash(path: Path) -> str:
    """The fingerprint of any file: syntax tree for Python, bytes otherwise."""
    if Path(path).suffix == ".py":
        return source_hash(path)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_path(module: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The file of a `vae.*` module inside `package_dir`, or None."""
    parts = module.split(".")
    if parts[0] != "vae":
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(module: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every `vae.*` module that `module` imports, directly or not, itself included.

    A package's `__init__` counts as imported with any of its modules, as it
    is at run time.
    """
    versions = tuple(
        (p.as_posix(), p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(package_dir.rglob("*.py"))
    )
    return list(_import_closure(module, package_dir, versions))


@functools.lru_cache(maxsize=64)
def _import_closure(module: str, package_dir: Path, versions: tuple) -> tuple[str, ...]:
    seen: set[str] = set()
    stack = [module]
    while stack:
        name = stack.pop()
        path = module_path(name, package_dir)
        if name in seen or path is None:
            continue
        seen.add(name)
        parent = name.rpartition(".")[0]
        if parent:
            stack.append(parent)
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                stack += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                stack.append(node.module)
                stack += [f"{node.module}.{alias.name}" for alias in node.names]
    return tuple(sorted(seen))
