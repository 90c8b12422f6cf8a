"""The documentation is tested: every output shown in README.md and scenarios/README.md
is what capsim prints today, byte for byte (as SimPy checks its documentation's
examples). `make readme` regenerates both; this test regenerates them in a copy
of the repository and compares."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # reruns every example and the scenario library's answers


@pytest.fixture(scope="module")
def copy_of_the_repository(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("repository")
    for folder in ("scenarios", "tools"):
        shutil.copytree(ROOT / folder, copy / folder)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    return copy


@pytest.mark.parametrize("document, generator", [("README.md", "tools/readme_examples.py"),
                                                 ("scenarios/README.md", "tools/scenario_answers.py")])
def test_every_output_shown_is_what_capsim_prints(copy_of_the_repository, document, generator):
    subprocess.run([sys.executable, generator, document], cwd=copy_of_the_repository, check=True,
                   capture_output=True, text=True)
    regenerated = (copy_of_the_repository / document).read_text(encoding="utf-8")
    committed = (ROOT / document).read_text(encoding="utf-8")
    assert regenerated == committed, f"{document} is stale: run make readme and review the diff"
