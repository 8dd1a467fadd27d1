"""Shared validation helpers and the light package import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from iclr22.core.errors import DataError
from iclr22.data import _checks


def test_package_import_is_light():
    code = (
        "import sys, iclr22.data as d; assert 'torch' not in sys.modules and 'torch_geometric' not in sys.modules;"
        "d.load_stsb; d.load_planetoid; d.load_mnist; d.to_windows;"
        "assert 'torch' not in sys.modules, 'a loader imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_exports_resolve():
    import iclr22.data as data

    assert data.load_planetoid.__module__ == "iclr22.data.graphs"
    with pytest.raises(AttributeError):
        data.no_such_loader  # noqa: B018


def test_parse_helpers(tmp_path):
    path = tmp_path / "f.txt"
    assert _checks.parse_int("3.0", path, 1, "c") == 3
    with pytest.raises(DataError, match=r"f\.txt: line 4: column c must be an integer, got '3\.5'"):
        _checks.parse_int("3.5", path, 4, "c")
    with pytest.raises(DataError, match=r"line 2: column v is '-inf'"):
        _checks.parse_float("-inf", path, 2, "v")
    assert np.isnan(_checks.parse_float("nan", path, 2, "v", allow_nonfinite=True))


def test_ids_and_shapes(tmp_path):
    _checks.check_ids_in_range(np.array([0, 4]), 5, "p", "ids")
    with pytest.raises(DataError, match=r"p: ids hold id -1 outside 0\.\.4"):
        _checks.check_ids_in_range(np.array([-1, 2]), 5, "p", "ids")
    with pytest.raises(DataError, match=r"p: x has shape \(2, 3\), expected \(\*, 4\)"):
        _checks.check_shape(np.zeros((2, 3)), (None, 4), "p", "x")


def test_read_text_lines_keeps_unicode_separators(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_bytes("a\u2028b\tc\r\nd\n".encode())
    assert _checks.read_text_lines(path) == ["a\u2028b\tc", "d"]


def test_require_files_names_everything(tmp_path):
    (tmp_path / "a").write_text("")
    with pytest.raises(DataError, match=r"missing file\(s\) b \(this folder must hold a, b\)"):
        _checks.require_files(tmp_path, ["a", "b"])
