"""The walkthrough notebook runs top to bottom against a fresh database (so it never rots)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.paths import DEMO_DIR, ROOT


@pytest.mark.slow
def test_walkthrough_notebook_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RENEWMAP_DATABASE_URL", f"sqlite:///{tmp_path / 'nb.sqlite'}")
    monkeypatch.setenv("RENEWMAP_DEMO_DIR", str(DEMO_DIR))
    nb = nbformat.read(ROOT / "notebooks" / "walkthrough.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "\n".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs
    )
    assert "'request': 200" in texts and "'grid': 7" in texts
    assert "第1网格" in texts  # the per-grid table
    html = "\n".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "cdn.jsdelivr" not in html and "leaflet" in html.lower()
