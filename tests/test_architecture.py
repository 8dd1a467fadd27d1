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


# ---------------------------------------------------------------------------------- fixed file roles
#: Every method package has these files (docs/architecture.md, "Layout").
REQUIRED_ROLES = ("__init__.py", "model.py", "train.py", "estimator.py", "experiment.py")
#: Names the embedded data had before the one contract: it lives in synthetic.py (the estimator in estimator.py,
#: checked below).
RETIRED_NAMES = ("datasets.py", "simulate.py", "render.py")
MAX_LINES = 500


def _landed_methods() -> list[str]:
    return [m for m in PLANNED if (PACKAGE / m).is_dir()]


@pytest.mark.parametrize("method", _landed_methods())
def test_method_has_the_fixed_file_roles(method):
    folder = PACKAGE / method
    names = {p.name for p in folder.glob("*.py")}
    missing = [role for role in REQUIRED_ROLES if role not in names]
    assert not missing, f"{method} lacks {missing}"
    retired = sorted(names & set(RETIRED_NAMES))
    assert not retired, f"{method}: {retired} — the embedded data lives in synthetic.py, the estimator in estimator.py"


@pytest.mark.parametrize("method", _landed_methods())
def test_public_estimator_lives_in_estimator_py(method):
    tree = ast.parse((PACKAGE / method / "estimator.py").read_text(encoding="utf-8"))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    bases = {ast.unparse(base) for node in classes for base in node.bases}
    assert "Estimator" in bases, f"{method}/estimator.py defines no Estimator subclass"
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
    assert functions, f"{method}/estimator.py has no plain functional entry point beside the estimator"


def test_no_source_file_over_500_lines_without_a_reason():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > MAX_LINES and "longer than 500 lines" not in docstring.lower():
            too_long.append(f"{path.relative_to(PACKAGE)} ({lines})")
    assert not too_long, f"over {MAX_LINES} lines with no reason in the module docstring: {too_long}"


#: The one environment write allowed: cuBLAS reads its determinism switch only from the environment, and
#: core.seed sets it only when the caller asks for deterministic kernels (seed_everything(deterministic=True)).
ALLOWED_ENV_WRITES = {"core/seed.py"}


def test_no_hidden_global_state():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # os.environ[...] = ..., os.environ.pop/update/setdefault(...), os.putenv
            if isinstance(node, ast.Assign) and any("os.environ" in ast.unparse(t) for t in node.targets):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} writes os.environ")
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in ("os.environ.pop", "os.environ.update", "os.environ.setdefault", "os.putenv") and (
                    str(path.relative_to(PACKAGE)) not in ALLOWED_ENV_WRITES
                ):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} calls {called}")
        for node in tree.body:  # module-level pools
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and "Pool" in ast.unparse(node.value):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} creates a pool at import")
            if isinstance(node, ast.Global) or (isinstance(node, ast.FunctionDef) and any(isinstance(n, ast.Global) for n in ast.walk(node))):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} uses a global statement")
    assert not offenders, offenders
