"""The "use it on your own embeddings" example of docs/methods/diva.md runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "methods" / "diva.md"


def test_own_embeddings_example_runs_and_finds_the_broken_labels(capsys):
    if not PAGE.is_file():
        pytest.skip(f"{PAGE} is absent (installed without the docs)")
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    example = blocks[0]
    assert "find_label_issues" in example and "DIVA" in example
    namespace: dict = {}
    exec(compile(example, str(PAGE), "exec"), namespace)  # noqa: S102 - our own docs page
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) > 0.9  # share of the broken labels among the 200 most suspicious samples
    assert namespace["model"].weights_.min() >= 0 and namespace["grad"].shape == (1000,)
