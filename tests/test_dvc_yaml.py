"""dvc.yaml declares, for each stage, every project file its code imports, so that a change
to any of them reruns exactly the stages that use it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT

STAGES = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]


def project_imports(path: Path, seen: set[Path] | None = None) -> set[Path]:
    """``path`` and every ``src/mnist_mlp`` module it imports, transitively."""
    seen = set() if seen is None else seen
    seen.add(path)
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("mnist_mlp."):
                module = PROJECT_ROOT / "src" / (name.replace(".", "/") + ".py")
                if module not in seen:
                    project_imports(module, seen)
    return seen


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_declares_the_code_it_imports(stage: str) -> None:
    script = PROJECT_ROOT / "stages" / f"{stage}.py"
    used = {str(p.relative_to(PROJECT_ROOT)) for p in project_imports(script)}
    declared = set(STAGES[stage]["deps"])
    assert used - declared == set(), f"{stage}: imported but not in deps"
    code_deps = {d for d in declared if d.endswith(".py")}
    assert code_deps - used == set(), f"{stage}: in deps but not imported"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_command_runs_its_own_script(stage: str) -> None:
    assert STAGES[stage]["cmd"].startswith(f"python stages/{stage}.py")


# Each stage is its own process, so a heavy import is paid on every run of the stage;
# scikit-learn alone takes about a second. These stages have no use for it.
@pytest.mark.parametrize(
    ("stage", "unneeded"),
    [("fetch", {"sklearn", "matplotlib"}), ("visualize", {"sklearn", "skops"})],
)
def test_stage_does_not_import_what_it_does_not_use(stage: str, unneeded: set[str]) -> None:
    script = PROJECT_ROOT / "stages" / f"{stage}.py"
    check = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='not_main'); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check, str(script)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout.split()
    assert unneeded.isdisjoint(loaded), f"{stage} imports {unneeded & set(loaded)}"


@pytest.mark.parametrize("module", sorted((PROJECT_ROOT / "src/mnist_mlp/core").glob("*.py")))
def test_the_core_imports_nothing_from_io(module: Path) -> None:
    io_dir = PROJECT_ROOT / "src/mnist_mlp/io"
    assert [p.name for p in project_imports(module) if p.parent == io_dir] == []
