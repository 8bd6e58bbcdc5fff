"""The analyst notebooks run top to bottom on the demo data, so they never rot, and are stored without outputs.

Each notebook runs in a fresh kernel started with this interpreter (a kernel spec written to a temporary
folder, so no ``ipykernel install`` is needed and no other Python on the machine is picked up). The store
and the week come from the environment, as for an analyst; the ``parameters`` cell is overridden the way
papermill does it, by a cell inserted right after it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tests.conftest import DemoStore

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "hotspots-test"
#: Parameters per notebook: the demo's last week, and a shorter backtest so the suite stays fast.
PARAMETERS = {
    "est_weekly.ipynb": 'WEEK = "2026-W46"',
    "method_comparison.ipynb": "PERIODS = 8",
}


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernel spec that runs ipykernel with this test run's interpreter (the project's venv)."""
    folder = tmp_path_factory.mktemp("kernels") / KERNEL
    folder.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hotspots (tests)",
        "language": "python",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(folder.parent)])


def with_parameters(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The notebook with ``source`` inserted after its cell tagged ``parameters``."""
    position = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(position + 1, injected)
    return notebook


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_notebook_runs_on_the_demo_data(
    name: str, demo_store: DemoStore, kernel_specs: KernelSpecManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", str(demo_store.engine.url))  # inherited by the kernel
    notebook = with_parameters(nbformat.read(NOTEBOOKS / name, as_version=4), PARAMETERS[name])
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    NotebookClient(
        notebook, km=manager, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the map or the plot was drawn
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the tables were shown


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
