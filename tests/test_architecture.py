"""``docs/architecture.md`` stays true: every package has its paragraph, and every documented
"does not import" rule holds in the source (read with :mod:`ast`, nothing imported)."""

from __future__ import annotations

import re

import pytest

from tests.support.import_graph import ROOT, module_graph, packages

DOC = ROOT / "docs" / "architecture.md"
# A package's paragraph opens with its folder in a level-3 heading: ### `linkzoom/grant/`
HEADING = re.compile(r"^### `(linkzoom/[a-z_/]+)/`", re.M)
# A rule is a bullet of the "Rules" section: - `linkzoom.a` does not import `linkzoom.b`
# (except `linkzoom.c`, `linkzoom.d`)
RULE = re.compile(
    r"^- `(?P<source>linkzoom[a-z_.]*)` does not import `(?P<target>linkzoom[a-z_.]*)`"
    r"(?: \(except (?P<allowed>[^)]*)\))?",
    re.M,
)


def _documented() -> set[str]:
    return {folder.replace("/", ".") for folder in HEADING.findall(DOC.read_text())}


def _rules() -> list[tuple[str, str, set[str]]]:
    return [
        (
            match["source"],
            match["target"],
            set(re.findall(r"`(linkzoom[a-z_.]*)`", match["allowed"] or "")),
        )
        for match in RULE.finditer(DOC.read_text())
    ]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_package_has_a_paragraph() -> None:
    missing = sorted(set(packages()) - _documented() - {"linkzoom"})
    assert not missing, f"docs/architecture.md has no paragraph for {missing}"


def test_every_paragraph_names_a_package_that_exists() -> None:
    assert _documented() <= set(packages())


def test_the_documented_rules_are_there() -> None:
    rules = {(source, target) for source, target, _ in _rules()}
    assert ("linkzoom", "linkzoom.sandbox") in rules
    assert len(rules) >= 4


@pytest.mark.parametrize(("source", "target", "allowed"), _rules())
def test_documented_rule_holds(source: str, target: str, allowed: set[str]) -> None:
    broken = sorted(
        f"{module} imports {imported}"
        for module, imported_modules in module_graph().items()
        if _within(module, source) and not _within(module, target) and module not in allowed
        for imported in imported_modules
        if _within(imported, target)
    )
    assert not broken, broken
