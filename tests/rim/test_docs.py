"""The Python quick start of docs/methods/rim.md runs as printed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "methods" / "rim.md"


def test_quick_start_runs(tmp_path, capsys):
    if not PAGE.is_file():
        pytest.skip(f"{PAGE} is absent (installed without the docs)")
    example = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)[0]
    assert "RIM" in example and "target_users" in example
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the example saves "rim-model" in the working folder
    try:
        namespace: dict = {}
        exec(compile(example, str(PAGE), "exec"), namespace)  # noqa: S102 - our own docs page
    finally:
        os.chdir(cwd)
    audience, recs, top = namespace["audience"], namespace["recs"], namespace["top"]
    assert len(audience["user"]) == 10 and set(audience["item"]) == {"i1", "i2"}
    assert max(__import__("numpy").unique(recs["item"], return_counts=True)[1]) <= 10
    assert top["item"].tolist() == ["i3"] * 5
