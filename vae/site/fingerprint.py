"""Fingerprints of code: what the caches compare to decide what is stale.

Python source is fingerprinted by its syntax tree with docstrings removed, so
editing a comment or a docstring changes no fingerprint. The import closure of
a module is read statically from the source, imports inside functions included.
Both are remembered per file version, so checking an unchanged tree parses
nothing twice, and a build hands what it has read to its worker processes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the `vae` package


# What one parse of a file gives, per file version (resolved path, mtime in ns,
# size): its syntax-tree hash and the names it imports. A build's worker
# processes start with the parent's (`known`, `remember`), so a task parses only
# the files that changed since its parent read them.
Version = tuple[str, int, int]
_FACTS: dict[Version, tuple[str, tuple[str, ...]]] = {}


def _version(path: Path) -> Version:
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def _facts(path: Path) -> tuple[str, tuple[str, ...]]:
    """(syntax-tree hash, imported names) of a Python file as it is now."""
    version = _version(path)
    if version not in _FACTS:
        facts = _parse(version[0])
        for old in [v for v in _FACTS if v[0] == version[0]]:  # an earlier version
            del _FACTS[old]
        _FACTS[version] = facts
    return _FACTS[version]


def _parse(path: str) -> tuple[str, tuple[str, ...]]:
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    imports: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imports.append(node.module)
            imports += [f"{node.module}.{alias.name}" for alias in node.names]
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    digest = hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()
    return digest, tuple(imports)


def source_hash(path: Path) -> str:
    """SHA-256 of a Python file's syntax tree without docstrings or comments."""
    return _facts(path)[0]


def known(paths: Iterable[Path]) -> list[list]:
    """The facts of Python files as they are now, as JSON-ready rows for
    `remember`; a file that does not parse is left out."""
    rows = []
    for path in paths:
        try:
            digest, imports = _facts(path)
        except SyntaxError:
            continue
        rows.append([*_version(path), digest, list(imports)])
    return rows


def remember(rows: list[list]) -> None:
    """Takes facts another process read (`known`). Each holds for its file
    version only: a file changed since is parsed again when asked for."""
    for path, mtime_ns, size, digest, imports in rows:
        _FACTS[(path, mtime_ns, size)] = (digest, tuple(imports))


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
        stack += _facts(path)[1]
    return tuple(sorted(seen))
