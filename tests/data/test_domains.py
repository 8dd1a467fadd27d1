"""GRDA data: DG-15 (npz and original pickles) and TPT-48."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.domains import (
    TPT48_EAST_STATES,
    TPT48_NORTH_STATES,
    load_dg,
    load_dg_pickle,
    load_domain_csv,
    load_tpt48,
    read_domain_graph,
    read_domain_samples,
    tpt48_source_domains,
)
from iclr22.data.safe_pickle import load_pickle


def _dg_arrays(num_domains=3, per_domain=4):
    rng = np.random.default_rng(0)
    n = num_domains * per_domain
    adjacency = np.zeros((num_domains, num_domains), dtype=np.int64)
    for d in range(num_domains - 1):
        adjacency[d, d + 1] = adjacency[d + 1, d] = 1
    return {
        "data": rng.normal(size=(n, 2)),
        "label": rng.integers(0, 2, n),
        "domain": np.repeat(np.arange(num_domains), per_domain),
        "A": adjacency,
        "src_domain": np.array([0]),
    }


# ------------------------------------------------------------------------------------------------ real data
@pytest.mark.shared_data
def test_dg15_npz(shared_data):
    data = load_dg(shared_data / "grda" / "dg15")
    assert len(data) == 1500 and data.x.shape == (1500, 2) and data.num_domains == 15
    assert np.bincount(data.domain).tolist() == [100] * 15
    assert set(np.unique(data.y)) == {0, 1}
    assert data.source_domains.tolist() == [0, 12, 3, 4, 14, 8]
    assert data.target_domains.size == 9
    assert data.adjacency.sum() == 2 * 56 and np.trace(data.adjacency) == 0
    assert data.domain_embedding.shape == (15, 2)


@pytest.mark.shared_data
def test_dg15_pickles_equal_npz(shared_data):
    folder = shared_data / "grda" / "dg15"
    from_npz = load_dg(folder / "dg15.npz")
    from_pkl = load_dg_pickle(
        folder / "toy_d15_spiral_tight_boundary.pkl",
        g_encode_path=folder / "g_encode_15.pkl",
        source_domains=[0, 12, 3, 4, 14, 8],
    )
    for field in ("x", "y", "domain", "adjacency", "domain_embedding", "source_domains"):
        np.testing.assert_array_equal(getattr(from_pkl, field), getattr(from_npz, field))


@pytest.mark.shared_data
def test_tpt48(shared_data):
    data = load_tpt48(shared_data / "grda" / "tpt48")
    assert data.temperatures.shape == (48, 144) and data.num_states == 48
    assert data.states == sorted(data.states) and data.state_names[0] == "Alabama"
    assert data.adjacency.sum() == 2 * 105
    degrees = data.adjacency.sum(axis=1)
    assert degrees.min() == 1 and degrees.max() == 8 and degrees[data.states.index("ME")] == 1
    original = load_pickle(shared_data / "grda" / "tpt48" / "month_temp_data.pkl")
    for i, state in enumerate(data.states):
        np.testing.assert_allclose(data.temperatures[i], original[state])


@pytest.mark.shared_data
def test_tpt48_tasks(shared_data):
    data = load_tpt48(shared_data / "grda" / "tpt48")
    north = tpt48_source_domains(data, "N->S")
    assert sorted(data.states[i] for i in north) == sorted(TPT48_NORTH_STATES) and north.size == 24
    east = tpt48_source_domains(data, "E->W")
    assert sorted(data.states[i] for i in east) == sorted(TPT48_EAST_STATES) and east.size == 24
    west = np.setdiff1d(np.arange(48), east)
    # Figure 6's east is not a longitude cut (MO is east, MS is west), but every eastern state lies east of CA
    assert "NY" in [data.states[i] for i in east] and "CA" in [data.states[i] for i in west]
    assert data.lon_norm[east].min() > data.lon_norm[data.states.index("CA")]
    with pytest.raises(ConfigError, match="unknown TPT-48 task"):
        tpt48_source_domains(data, "W->E")


# ------------------------------------------------------------------------------------------------ bad input
def test_generic_dg_npz_roundtrip(tmp_path):
    arrays = _dg_arrays()
    np.savez(tmp_path / "mine.npz", **arrays)
    data = load_dg(tmp_path / "mine.npz", name="mine")
    assert data.domain_embedding is None and data.source_domains.tolist() == [0]
    np.testing.assert_allclose(data.x, arrays["data"].astype(np.float32))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"A": np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]])}, "A must be symmetric"),
        ({"A": np.array([[0, 2, 0], [2, 0, 1], [0, 1, 0]])}, "A must hold only 0/1"),
        ({"A": np.zeros((3, 2))}, r"A must be a square \[D, D\] matrix"),
        ({"domain": np.array([0] * 11 + [7])}, r"domain ids hold id 7 outside 0\.\.2"),
        ({"label": np.zeros(5, dtype=int)}, r"label has shape \(5,\), expected \(12,\)"),
        ({"data": np.full((12, 2), np.nan)}, "data holds 24 NaN/inf"),
        ({"src_domain": np.array([5])}, r"source domains hold id 5 outside"),
    ],
)
def test_dg_bad_arrays(tmp_path, change, message):
    arrays = {**_dg_arrays(), **change}
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=r"bad\.npz: " + message):
        load_dg(path)


def test_dg_missing_key_and_file(tmp_path):
    arrays = _dg_arrays()
    del arrays["A"]
    np.savez(tmp_path / "dg15.npz", **arrays)
    with pytest.raises(DataError, match=r"dg15\.npz: missing array\(s\) A"):
        load_dg(tmp_path)
    with pytest.raises(DataError, match=r"missing file\(s\) dg60\.npz"):
        load_dg(tmp_path, name="dg60")


def test_dg_truncated_npz(tmp_path):
    np.savez(tmp_path / "cut.npz", **_dg_arrays())
    (tmp_path / "cut.npz").write_bytes((tmp_path / "cut.npz").read_bytes()[:300])
    with pytest.raises(DataError, match=r"cut\.npz: truncated or corrupt"):
        load_dg(tmp_path / "cut.npz")


def test_dg_object_array_not_unpickled(tmp_path):
    arrays = {**_dg_arrays(), "label": np.array([{"x": 1}] * 12, dtype=object)}
    np.savez(tmp_path / "obj.npz", **arrays)
    with pytest.raises(DataError, match=r"obj\.npz: array 'label' is a pickled object array"):
        load_dg(tmp_path / "obj.npz")


def test_dg_pickle_forbidden_global(tmp_path):
    path = tmp_path / "toy.pkl"
    path.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(DataError, match=r"toy\.pkl: pickle references forbidden global 'os\.system'"):
        load_dg_pickle(path)
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 2))}))
    with pytest.raises(DataError, match=r"toy\.pkl: expected a dict with keys data, label, domain, A"):
        load_dg_pickle(path)


@pytest.mark.shared_data
def test_tpt48_bad_copies(shared_data, tmp_path):
    source = np.load(shared_data / "grda" / "tpt48" / "tpt48.npz")
    arrays = {k: source[k] for k in source.files}
    temp = arrays["temp"].copy()
    temp[3, 7] = np.inf
    np.savez(tmp_path / "tpt48.npz", **{**arrays, "temp": temp})
    with pytest.raises(DataError, match=r"tpt48\.npz: temp holds 1 NaN/inf value\(s\) \(first at index \[3, 7\]\)"):
        load_tpt48(tmp_path)
    np.savez(tmp_path / "tpt48.npz", **{**arrays, "lat_norm": arrays["lat_norm"][:40]})
    with pytest.raises(DataError, match=r"tpt48\.npz: lat_norm has 40 values, expected 48"):
        load_tpt48(tmp_path)
    np.savez(tmp_path / "tpt48.npz", **arrays)
    shutil.copy(shared_data / "grda" / "tpt48" / "longitude-latitude-normalize.csv", tmp_path)
    with open(tmp_path / "longitude-latitude-normalize.csv", "a") as handle:
        handle.write("XX,0.5\n")
    with pytest.raises(DataError, match=r"longitude-latitude-normalize\.csv: line 50: 2 columns, expected 4"):
        load_tpt48(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: missing file\(s\) tpt48\.npz"):
        load_tpt48(tmp_path / "empty")
    with pytest.raises(DataError, match=r"absent: dataset folder not found \(expected a folder holding tpt48\.npz\)"):
        load_tpt48(tmp_path / "absent")


@pytest.mark.shared_data
def test_dg15_keeps_the_domain_angles(shared_data):
    from iclr22.data.domains import load_dg

    data = load_dg(shared_data / "grda" / "dg15", "dg15")
    assert data.domain_angle is not None and data.domain_angle.shape == (15,)
    assert np.all(np.isfinite(data.domain_angle))


# ------------------------------------------------------------------------------------ a user's tables
def test_dg_npz_with_unknown_labels(tmp_path):
    arrays = _dg_arrays()
    arrays["label"] = np.where(arrays["domain"] == 0, arrays["label"], -3)
    np.savez(tmp_path / "mine.npz", **arrays)
    with pytest.raises(DataError, match="negative class id"):
        load_dg(tmp_path / "mine.npz")
    data = load_dg(tmp_path / "mine.npz", unknown_labels=True)
    assert data.y[data.domain > 0].tolist() == [-1] * 8 and (data.y[data.domain == 0] >= 0).all()


@pytest.mark.parametrize(
    "name, text",
    [
        ("edges.csv", "src,dst\n0,1\n2,1\n"),  # header, either direction
        ("edges.tsv", "0\t1\n1\t2\n1\t1\n"),  # no header; the self loop is dropped
        ("adjacency.csv", "0,1,0\n1,0,1\n0,1,0\n"),
    ],
)
def test_domain_graph_files(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    expected = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    assert np.array_equal(read_domain_graph(tmp_path / name, 3), expected)


def test_domain_graph_file_edge_cases(tmp_path):
    (tmp_path / "none.csv").write_text("src,dst\n")
    assert read_domain_graph(tmp_path / "none.csv", 4).tolist() == np.zeros((4, 4), dtype=int).tolist()
    (tmp_path / "two.csv").write_text("0,1\n")  # two columns: an edge list, also for two domains
    assert read_domain_graph(tmp_path / "two.csv").tolist() == [[0, 1], [1, 0]]
    for text, message in [("0,1,1\n1,0,0\n1,0,0\n0,0,1\n", "edge list"), ("0,1,0\n0,0,1\n0,1,0\n", "symmetric"), ("0,1.5\n", "whole")]:
        (tmp_path / "bad.csv").write_text(text)
        with pytest.raises(DataError, match=message):
            read_domain_graph(tmp_path / "bad.csv", 3 if message == "symmetric" else None)


def test_domain_table_reads_columns_by_name(tmp_path):
    (tmp_path / "s.csv").write_text("label,f1,domain,f2\n1,0.5,0,2\n,1.5,1,3\n-1,2.5,1,4\n")
    (tmp_path / "e.csv").write_text("0,1\n")
    x, domain, labels = read_domain_samples(tmp_path / "s.csv")
    assert x.tolist() == [[0.5, 2.0], [1.5, 3.0], [2.5, 4.0]] and domain.tolist() == [0, 1, 1] and labels.tolist() == [1, -1, -1]
    data = load_domain_csv(tmp_path / "s.csv", tmp_path / "e.csv", source_domains=[0])
    assert data.num_domains == 2 and data.source_domains.tolist() == [0] and data.name == "s"
    (tmp_path / "p.csv").write_text("f1,domain,f2\n0.5,0,2\n")
    assert read_domain_samples(tmp_path / "p.csv")[2] is None  # labels are optional for prediction
    with pytest.raises(DataError, match="no 'label' column"):
        load_domain_csv(tmp_path / "p.csv", tmp_path / "e.csv")
