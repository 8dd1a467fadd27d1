"""The import rules of docs/architecture.md: core imports nothing else of the toolkit, data imports only
core, and a method imports core and data, never another method."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from iclr22.methods import PLANNED

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "iclr22"


def _toolkit_imports(folder: Path) -> set[tuple[str, str]]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "iclr22" and len(parts) > 1:
                    found.add((str(path.relative_to(PACKAGE)), parts[1]))
    return found


# core reads the table of lazy import paths in iclr22/methods.py, which itself imports only core
@pytest.mark.parametrize("layer, allowed", [("core", {"core", "methods"}), ("data", {"core", "data"})])
def test_lower_layers_import_nothing_above_them(layer, allowed):
    wrong = {(path, target) for path, target in _toolkit_imports(PACKAGE / layer) if target not in allowed}
    assert not wrong, f"{layer} must import only {sorted(allowed)}: {sorted(wrong)}"


def test_a_method_never_imports_another_method():
    for method in PLANNED:
        folder = PACKAGE / method
        if not folder.is_dir():
            continue
        wrong = {(p, t) for p, t in _toolkit_imports(folder) if t in PLANNED and t != method}
        assert not wrong, f"{method} imports another method: {sorted(wrong)}"
