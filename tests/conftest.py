from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the checkout")
    return CORPUS


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test picks up a stray .oomguard.yaml from the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OOMGUARD_POLICY", raising=False)
    os.environ.setdefault("PYTHONHASHSEED", "0")
