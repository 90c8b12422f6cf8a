"""The architecture holds (docs/architecture.md): each layer imports only the layers
below it, no import cycles inside a layer, and no module grows past a size one
reads in a sitting. The layers are the import-linter contracts in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 400


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_every_layer_imports_only_the_layers_below_it():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_from_a_layer_above_breaks_the_contract(tmp_path):
    """The check can fail: the engine importing the command line is reported."""
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    model = tmp_path / "sim" / "engine" / "model.py"
    model.write_text(model.read_text(encoding="utf-8") + "\nimport sim.cli  # noqa\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "sim.engine.model -> sim.cli" in result.stdout


def test_no_module_is_longer_than_a_sitting():
    sizes = {path.relative_to(ROOT): len(path.read_text(encoding="utf-8").splitlines())
             for path in (ROOT / "sim").rglob("*.py")}
    assert {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def test_importing_the_library_does_not_import_scipy_or_matplotlib():
    """Worker processes import `sim`: SciPy (about a second) and matplotlib are imported
    only where a command needs them (theory, checks, reports)."""
    code = "import sys, sim, sim.cli; print(sorted({'scipy', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
