"""linkzoom's import graph, read from the source with :mod:`ast` (nothing is imported).

``python -m tests.support.import_graph`` prints who imports whom, package by package (the
picture in ``docs/architecture.md``); ``tests/test_architecture.py`` checks the documented
rules against the same graph. Imports inside functions count: a lazy import is still a
dependency.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "linkzoom"


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the linkzoom package, by dotted name."""
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def packages() -> list[str]:
    """Every package (a folder with an ``__init__.py``) under ``linkzoom/``, dotted."""
    return sorted(
        ".".join(path.parent.relative_to(ROOT).parts) for path in SOURCE.rglob("__init__.py")
    )


def imports_of(name: str, path: Path, known: frozenset[str]) -> set[str]:
    """The linkzoom modules (or packages) that module ``name`` imports."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in found if target in known and target != name}


@functools.cache
def module_graph() -> dict[str, set[str]]:
    """Module -> the linkzoom modules (or packages) it imports (read once per process)."""
    found = list(modules())
    known = frozenset(name for name, _ in found)
    return {name: imports_of(name, path, known) for name, path in found}


def package_of(module: str, packages: list[str]) -> str:
    """The innermost package holding ``module`` (a package is its own)."""
    return max((p for p in packages if module == p or module.startswith(p + ".")), key=len)


def package_graph() -> dict[str, set[str]]:
    """Package → the other packages its modules import (top-level modules count as
    ``linkzoom``)."""
    known = packages()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in module_graph().items():
        source = package_of(module, known)
        graph[source].update(package_of(t, known) for t in targets)
        graph[source].discard(source)
    return {package: graph.get(package, set()) for package in known}


def main() -> None:
    for package, targets in package_graph().items():
        short = sorted(t.removeprefix("linkzoom.") for t in targets)
        sys.stdout.write(f"{package.removeprefix('linkzoom.')}: {', '.join(short) or '-'}\n")


if __name__ == "__main__":
    main()
