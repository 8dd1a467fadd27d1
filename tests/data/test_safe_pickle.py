"""The restricted unpickler: allow-listed globals load, anything else raises DataError before running."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp

from iclr22.core.errors import DataError
from iclr22.data.safe_pickle import RestrictedUnpickler, load_npz_object, load_pickle, loads_pickle


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_forbidden_global_raises_and_does_not_execute(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(DataError, match=r"evil\.pkl.*forbidden global '(posix|os|nt)\.system'"):
        load_pickle(path)
    assert not marker.exists()


def test_forbidden_global_protocol0_names_os_system(tmp_path):
    marker = tmp_path / "pwned0"
    path = tmp_path / "evil0.pkl"
    path.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with pytest.raises(DataError, match=r"evil0\.pkl.*'os\.system'"):
        load_pickle(path)
    assert not marker.exists()


def test_builtins_eval_and_getattr_are_forbidden():
    for payload in (b"cbuiltins\neval\n(S'1+1'\ntR.", b"c__builtin__\ngetattr\n(S'x'\nS'y'\ntR."):
        with pytest.raises(DataError, match="forbidden global"):
            loads_pickle(payload, source="mem.pkl")


def test_codecs_encode_only_latin1():
    ok = pickle.dumps(b"\x00\xffab", protocol=2)  # uses _codecs.encode(..., 'latin1')
    assert loads_pickle(ok, source="bytes.pkl") == b"\x00\xffab"
    evil = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(DataError, match="corrupt pickle"):
        loads_pickle(evil, source="codec.pkl")


def test_allowed_numpy_scipy_and_containers_roundtrip(tmp_path):
    value = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "s": np.float64(2.5),
        "m": sp.csr_matrix(np.eye(3)),
        "d": defaultdict(list, {1: [2, 3]}),
        "t": (1, "x", {4}, frozenset([5])),
    }
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(value, protocol=2))
    loaded = load_pickle(path)
    np.testing.assert_array_equal(loaded["a"], value["a"])
    assert loaded["a"].dtype == np.float32
    assert loaded["s"] == 2.5
    np.testing.assert_array_equal(loaded["m"].toarray(), np.eye(3))
    assert loaded["d"][1] == [2, 3] and loaded["d"].default_factory is list


def test_python2_scipy_module_names_are_mapped():
    unpickler = RestrictedUnpickler(io.BytesIO(b""), source="x")
    assert unpickler.find_class("scipy.sparse.csr", "csr_matrix") is sp.csr_matrix
    assert unpickler.find_class("numpy.core.multiarray", "_reconstruct") is unpickler.find_class(
        "numpy._core.multiarray", "_reconstruct"
    )
    assert unpickler.find_class("__builtin__", "list") is list


def test_truncated_pickle(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"a": np.arange(100)}, protocol=4)[:-20])
    with pytest.raises(DataError, match=r"cut\.pkl.*truncated or corrupt pickle"):
        load_pickle(path)


def test_missing_pickle(tmp_path):
    with pytest.raises(DataError, match=r"nope\.pkl.*not found"):
        load_pickle(tmp_path / "nope.pkl")


def test_npz_object_member_read_without_allow_pickle(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, arr_0=np.array({"k": np.arange(3)}, dtype=object))
    value = load_npz_object(path, "arr_0").item()
    np.testing.assert_array_equal(value["k"], np.arange(3))


def test_npz_object_member_with_forbidden_global(tmp_path):
    marker = tmp_path / "pwned_npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("arr_0.npy", header.getvalue() + pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(DataError, match=r"evil\.npz\[arr_0\].*forbidden global"):
        load_npz_object(path, "arr_0")
    assert not marker.exists()


def test_npz_object_member_errors(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, arr_0=np.arange(3))
    with pytest.raises(DataError, match=r"plain\.npz\[arr_0\].*expected a pickled object array"):
        load_npz_object(plain, "arr_0")
    with pytest.raises(DataError, match=r"plain\.npz.*no array 'other'"):
        load_npz_object(plain, "other")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(plain.read_bytes()[:40])
    with pytest.raises(DataError, match=r"broken\.npz.*corrupt"):
        load_npz_object(broken, "arr_0")


@pytest.mark.shared_data
def test_real_pickles_load(shared_data):
    """Every pickle shipped in ../shared/data passes the allow-list."""
    cora = load_pickle(shared_data / "planetoid" / "ind.cora.x")
    assert sp.issparse(cora) and cora.shape == (140, 1433)
    graph = load_pickle(shared_data / "planetoid" / "ind.cora.graph")
    assert isinstance(graph, defaultdict) and len(graph) == 2708
    temps = load_pickle(shared_data / "grda" / "tpt48" / "month_temp_data.pkl")
    assert len(temps) == 48 and temps["AL"].shape == (144,)
    netgan = load_npz_object(shared_data / "textgraph" / "cora_ml" / "cora_ml.npz", "arr_0").item()
    assert netgan["labels"].shape == (2995,)
