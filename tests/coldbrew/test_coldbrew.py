"""Cold Brew: equations against hand computations, splits, the estimator, the CLI and bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from iclr22.cli import main
from iclr22.core.errors import ConfigError, DataError
from iclr22.core.results import read_metrics
from iclr22.coldbrew.estimator import ColdBrew
from iclr22.coldbrew.experiment import load_planetoid_graph
from iclr22.coldbrew.graph import row_normalize, validate_graph
from iclr22.coldbrew.metrics import accuracy, feature_contribution_ratio
from iclr22.coldbrew.model import GCNSE, SEGCNConv, normalized_adjacency, virtual_neighbors
from iclr22.coldbrew.splits import degree_split, isolate_nodes, label_split, node_degrees
from iclr22.coldbrew.synthetic import make_cold_start_graph


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: these graphs are small, and two threads on a busy 2-core machine crawl."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ------------------------------------------------------------------------------------------- equations
def test_virtual_neighbors_is_top_k_softmax_of_eq4() -> None:
    generator = torch.Generator().manual_seed(0)
    query, bank, k = torch.randn(7, 5, generator=generator), torch.randn(30, 5, generator=generator), 3
    expected = []
    for q in query:
        scores = bank @ q
        top = sorted(range(len(bank)), key=lambda j: float(scores[j]), reverse=True)[:k]
        masked = torch.full_like(scores, float("-inf"))
        masked[top] = scores[top]
        expected.append(torch.softmax(masked, dim=0) @ bank)
    torch.testing.assert_close(virtual_neighbors(query, bank, k, chunk_size=4), torch.stack(expected))
    # K = 1 returns the single best-matching bank row
    best = (query @ bank.T).argmax(dim=1)
    torch.testing.assert_close(virtual_neighbors(query, bank, 1), bank[best])


def test_leave_self_out_never_retrieves_the_own_row() -> None:
    generator = torch.Generator().manual_seed(1)
    bank = torch.nn.functional.normalize(torch.randn(20, 6, generator=generator), dim=1)
    query = bank[[3, 8, 8, 15]] * 5  # unit rows: each query's best match is its own row
    own = torch.tensor([3, 8, -1, 15])  # -1: a new node, nothing to leave out
    assert torch.equal((query @ bank.T).argmax(dim=1), torch.tensor([3, 8, 8, 15]))
    scores = query @ bank.T
    scores[[0, 1, 3], [3, 8, 15]] = float("-inf")
    torch.testing.assert_close(virtual_neighbors(query, bank, 1, exclude=own), bank[scores.argmax(dim=1)])
    for k in (1, 3, 19):  # whatever K, the own row gets no weight
        with_self = virtual_neighbors(query, bank, k, exclude=own)
        brute = torch.stack([torch.softmax(row.topk(k).values, 0) @ bank[row.topk(k).indices] for row in scores])
        torch.testing.assert_close(with_self, brute)
    # the student maps node ids to bank rows (a bank of a subset of the nodes, in any order)
    from iclr22.coldbrew.model import ColdBrewStudent

    student = ColdBrewStudent(4, 6, 2, 8, 2, 0.0, top_k=1, part2_input="code", alpha_init=1.0, leave_self_out=True)
    student.set_bank(bank, torch.arange(100, 120).flip(0))
    rows = student.excluded_rows(torch.tensor([119, 100, 5, -1, 500, 110]))
    assert rows.tolist() == [0, 19, -1, -1, -1, 9]
    torch.testing.assert_close(student.neighbors(bank[[0]] * 5, torch.tensor([119])), virtual_neighbors(bank[[0]] * 5, bank, 1, exclude=torch.tensor([0])))
    student.leave_self_out = False  # the official behaviour: the own row is a candidate
    torch.testing.assert_close(student.neighbors(bank[[0]] * 5, torch.tensor([119])), bank[[0]])


def test_se_gcn_layer_is_eq2_against_dense_computation() -> None:
    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    x = torch.randn(5, 4)  # node 4 has no edge
    layer = SEGCNConv(4, 3, num_nodes=5)
    torch.nn.init.normal_(layer.bias)
    dense_a = torch.eye(5)
    dense_a[edge_index[0], edge_index[1]] = 1.0
    d_inv_sqrt = dense_a.sum(1).pow(-0.5)
    a_hat = d_inv_sqrt[:, None] * dense_a * d_inv_sqrt[None, :]
    expected = a_hat @ (x @ layer.weight + layer.structural_embedding) + layer.bias
    torch.testing.assert_close(layer(x, normalized_adjacency(edge_index, 5)), expected)
    # an isolated node sees only itself: x W + E + b
    torch.testing.assert_close(layer(x, normalized_adjacency(edge_index, 5))[4], expected[4])
    torch.testing.assert_close(expected[4], x[4] @ layer.weight + layer.structural_embedding[4] + layer.bias)


def test_teacher_embeddings_and_se_penalty() -> None:
    torch.manual_seed(0)
    teacher = GCNSE(6, 8, 3, num_layers=2, num_nodes=10, dropout=0.0, norm="none").eval()
    x, edge_index = torch.randn(10, 6), torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    logits, embeddings = teacher(x, normalized_adjacency(edge_index, 10), return_embeddings=True)
    assert embeddings.shape == (10, 8 + 3) and teacher.embedding_dim == 11
    torch.testing.assert_close(embeddings[:, 8:], logits)  # last block = the pre-activation output
    frob = [c.structural_embedding.norm() for c in teacher.convs]
    torch.testing.assert_close(teacher.se_penalty(squared=True), frob[0] ** 2 + frob[1] ** 2)
    torch.testing.assert_close(teacher.se_penalty(squared=False), frob[0] + frob[1])


def test_feature_contribution_ratio_reproduces_table2_cora() -> None:
    # Table 2, Cora: GNN 86.96, MLP 69.02, LP 78.18 -> FCR 32.86 %
    assert feature_contribution_ratio(86.96, 69.02, 78.18) == pytest.approx(32.86, abs=0.01)
    # Table 2, Pubmed: GNN 75.96, MLP 73.51, LP 67.8 -> 76.91 %
    assert feature_contribution_ratio(75.96, 73.51, 67.8) == pytest.approx(76.91, abs=0.01)
    # MLP above the GNN: 1 + |δ_MLP| / (|δ_MLP| + δ_LP)
    assert feature_contribution_ratio(70.0, 75.0, 60.0) == pytest.approx(100 * (1 + 5 / 15))


# ---------------------------------------------------------------------------------------------- splits
def _official_reference(degrees: np.ndarray, mode: str) -> np.ndarray:
    """The official get_partial_sorted_idx, written out literally."""
    rounds = {"top6": 4, "bottom3": 5}[mode]
    idx = np.where(degrees <= np.median(degrees))[0] if mode.startswith("top") else np.where(degrees >= np.median(degrees))[0]
    for _ in range(rounds - 1):
        sub = degrees[idx]
        idx = np.where(degrees <= np.median(sub))[0] if mode.startswith("top") else np.where(degrees >= np.median(sub))[0]
    return idx


def test_paper_and_official_degree_splits() -> None:
    graph = make_cold_start_graph(num_nodes=400, seed=3)
    n = graph.num_nodes
    split = degree_split(graph.edge_index, n, "paper", 0.1, seed=1)
    assert split.summary() == {"isolated": 40, "tail": 40, "head": 40}
    assert not (split.isolated & split.tail).any() and not (split.tail & split.head).any() and not (split.isolated & split.head).any()
    after = node_degrees(split.edge_index, n)
    assert (after[split.isolated] == 0).all() and (after[split.tail] > 0).all()
    assert after[split.head].min() >= after[~split.isolated & ~split.tail & ~split.head].max()
    before = node_degrees(graph.edge_index, n)
    assert before[split.isolated].max() <= before[~split.isolated].min()

    official = degree_split(graph.edge_index, n, "official")
    degrees = before + 1
    low = _official_reference(degrees, "top6")
    assert set(np.flatnonzero(official.isolated | official.tail)) == set(low.tolist())
    assert set(np.flatnonzero(official.head)) == set(_official_reference(degrees, "bottom3").tolist())
    assert degrees[official.isolated].max() <= degrees[official.tail].min()
    assert (node_degrees(official.edge_index, n)[official.isolated] == 0).all()


def test_isolate_nodes_removes_exactly_their_edges() -> None:
    edge_index = np.array([[0, 1, 1, 2, 2, 3, 3, 3], [1, 0, 2, 1, 3, 2, 3, 0]])
    isolated = np.array([False, False, True, False])
    kept = isolate_nodes(edge_index, isolated)
    assert kept.T.tolist() == [[0, 1], [1, 0], [3, 3], [3, 0]]


def test_label_split_rules() -> None:
    y = np.arange(50) % 3
    train, val, evaluation = label_split(y, "first_n", num_train=10, num_val=5)
    assert train[:10].all() and val[10:15].all() and evaluation.sum() == 35
    with pytest.raises(ConfigError):
        label_split(y, "public")
    with pytest.raises(ConfigError):
        label_split(y, "first_n", num_train=40, num_val=20)


def test_row_normalize_is_pyg_normalize_features() -> None:
    from torch_geometric.data import Data
    from torch_geometric.transforms import NormalizeFeatures

    x = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [3, 1, 0, 0]], dtype=np.float32)
    expected = NormalizeFeatures()(Data(x=torch.from_numpy(x.copy()))).x.numpy()
    np.testing.assert_allclose(row_normalize(x), expected)
    np.testing.assert_allclose(row_normalize(x)[[0, 2]].sum(1), 1.0)
    assert (row_normalize(x)[1] == 0).all()  # an empty row stays empty instead of becoming NaN


# ------------------------------------------------------------------------------------------- estimator
@pytest.fixture(scope="module")
def small_graph():
    graph = make_cold_start_graph(num_nodes=600, seed=0)
    split = degree_split(graph.edge_index, graph.num_nodes, "paper", 0.1, seed=0)
    train, val, evaluation = label_split(graph.y, "first_n", num_train=150, num_val=120)
    return graph, split, train, val, evaluation


@pytest.fixture(scope="module")
def fitted(small_graph):
    graph, split, train, val, _ = small_graph
    model = ColdBrew(epochs=120, student_epochs=120, patience=None, seed=0)
    assert model.fit(graph.x, graph.y, edge_index=split.edge_index, train_mask=train, val_mask=val) is model
    return model


def test_student_beats_teacher_on_isolated_nodes(small_graph, fitted) -> None:
    graph, split, _, _, evaluation = small_graph
    y = torch.from_numpy(graph.y)
    isolated = split.isolated & evaluation
    data = validate_graph(graph.x, split.edge_index, graph.y, evaluation, None)
    with torch.no_grad():
        teacher_logits = fitted.teacher_(data.gnn_features(), data.adjacency())
    student_pred = torch.from_numpy(fitted.predict(graph.x))
    # 29 isolated evaluation nodes: the student gets 79 %, the teacher (isolated nodes see only x W + E) 52 %
    assert accuracy(student_pred, y, isolated) > accuracy(teacher_logits, y, isolated) + 10
    assert accuracy(student_pred, y, evaluation) > 60  # 5 classes: far above chance


def test_predict_transform_shapes_and_save_load(tmp_path: Path, small_graph, fitted) -> None:
    graph = small_graph[0]
    new_nodes = graph.x[:10]
    proba = fitted.predict_proba(new_nodes)
    assert proba.shape == (10, 5) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert fitted.transform(new_nodes).shape == (10, fitted.teacher_.embedding_dim)
    assert fitted.virtual_neighbor_embeddings(new_nodes).shape == (10, fitted.teacher_.embedding_dim)
    path = fitted.save(tmp_path / "student")
    assert {p.name for p in path.iterdir()} == {"estimator.json", "state.pt"}
    loaded = ColdBrew.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(new_nodes), proba)  # the same weights: identical
    np.testing.assert_array_equal(loaded.predict(graph.x), fitted.predict(graph.x))
    np.testing.assert_array_equal(loaded.transform(new_nodes), fitted.transform(new_nodes))
    assert not hasattr(loaded, "teacher_")  # inference needs no teacher and no graph
    assert loaded.get_params() == fitted.get_params() and loaded.history_ == fitted.history_
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="junk.pt"):
        ColdBrew.load(tmp_path / "junk.pt")
    with pytest.raises(DataError, match="features per row"):
        fitted.predict(np.zeros((3, 7)))
    with pytest.raises(DataError, match="NaN"):
        fitted.predict(np.full((2, graph.x.shape[1]), np.nan))


def test_same_seed_same_numbers_and_resume(tmp_path: Path, small_graph) -> None:
    graph, split, train, val, _ = small_graph
    kwargs = dict(epochs=30, student_epochs=30, patience=None, seed=5)
    fit = lambda **extra: ColdBrew(**kwargs, **extra).fit(  # noqa: E731
        graph.x, graph.y, edge_index=split.edge_index, train_mask=train, val_mask=val
    )
    with_checkpoints = fit(checkpoint_dir=tmp_path)
    first = with_checkpoints.predict_proba(graph.x)
    again = fit()
    assert again.history_ == with_checkpoints.history_
    np.testing.assert_allclose(again.predict_proba(graph.x), first, atol=1e-6)
    assert (tmp_path / "teacher.pt").is_file() and (tmp_path / "student_part2.pt").is_file()
    resumed = fit(checkpoint_dir=tmp_path)  # every stage loads its finished checkpoint
    np.testing.assert_allclose(resumed.predict_proba(graph.x), first, atol=1e-6)
    # the same folder with another setting must not resume the first run's stages
    with pytest.raises(ConfigError, match="other settings"):
        fit(checkpoint_dir=tmp_path, alpha_init=0.5)


def test_part2_validation_cache_matches_a_fresh_forward(small_graph, fitted) -> None:
    # part 2 scores validation with ê, ẽ computed once (ξ1 is frozen); the kept epoch's score must be what a
    # plain forward of the restored student gives
    graph, _, _, val, _ = small_graph
    recomputed = accuracy(torch.from_numpy(fitted.predict(graph.x[val])), torch.from_numpy(graph.y[val]))
    assert recomputed == pytest.approx(fitted.history_["student_part2"]["val_acc"], abs=1e-4)


def test_rows_slices_sparse_features_like_a_dense_gather() -> None:
    from iclr22.coldbrew.graph import Rows

    x = torch.zeros(50, 40)
    x[torch.arange(50), torch.arange(50) % 40] = torch.rand(50) + 0.5
    rows = Rows(x)
    assert rows.sparse
    index = torch.tensor([7, 3, 3, 49, 0])
    mask = torch.zeros(50, dtype=torch.bool)
    mask[[1, 4, 30]] = True
    for selector in (index, mask):
        block = rows.fresh(selector)
        assert block.layout == torch.sparse_csr and torch.equal(block.to_dense(), x[selector])


def test_train_mode_accuracy_reads_the_gcn_with_dropout_and_keeps_the_rng(small_graph) -> None:
    from iclr22.coldbrew.experiment import model_seed, train_mode_accuracy

    graph, split, train, val, evaluation = small_graph
    data = validate_graph(graph.x, split.edge_index, graph.y, train, val)
    subsets = {"acc_overall": torch.from_numpy(evaluation)}
    model = GCNSE(data.x.shape[1], 16, data.num_classes, 2, None, (False, False), dropout=0.0, norm="none")
    with torch.no_grad():
        eval_accuracy = accuracy(model(data.gnn_features(), data.adjacency()), data.y, subsets["acc_overall"])
    assert train_mode_accuracy(model, data, subsets, 3, seed=0)["acc_overall"] == pytest.approx(eval_accuracy)  # no dropout
    model.dropout = 0.9
    state = torch.get_rng_state()
    noisy = train_mode_accuracy(model, data, subsets, 3, seed=0)["acc_overall"]
    assert torch.equal(torch.get_rng_state(), state) and not model.training
    assert noisy != pytest.approx(eval_accuracy)
    assert train_mode_accuracy(model, data, subsets, 0, seed=0) == {}
    assert len({model_seed(0, name) for name in ("gcn", "sage", "gcn_se")} | {model_seed(1, "gcn")}) == 4


def test_fit_accepts_pyg_data(small_graph) -> None:
    from torch_geometric.data import Data

    graph, split, train, val, _ = small_graph
    data = Data(x=torch.from_numpy(graph.x), edge_index=torch.from_numpy(split.edge_index), y=torch.from_numpy(graph.y),
                train_mask=torch.from_numpy(train), val_mask=torch.from_numpy(val))
    model = ColdBrew(epochs=5, student_epochs=5, part2_input="paper", part1_nodes="train", neighbor_pool="train").fit(data)
    assert model.predict(graph.x[:4]).shape == (4,)


def test_leave_self_out_estimator_selects_and_serves_as_it_trained(tmp_path: Path, small_graph) -> None:
    graph, split, train, val, _ = small_graph
    model = ColdBrew(epochs=20, student_epochs=20, patience=None, seed=0, leave_self_out=True)
    model.fit(graph.x, graph.y, edge_index=split.edge_index, train_mask=train, val_mask=val)
    ids = np.arange(graph.num_nodes)
    # part 2 selected its epoch on validation nodes with their own rows left out: predict with their ids agrees
    val_ids = ids[val]
    reread = accuracy(torch.from_numpy(model.predict(graph.x[val], node_ids=val_ids)), torch.from_numpy(graph.y[val]))
    assert reread == pytest.approx(model.history_["student_part2"]["val_acc"], abs=1e-4)
    # a graph node never gets its own teacher embedding back; a row without an id searches the whole bank
    bank = model.student_.bank
    e_hat = torch.from_numpy(model.transform(graph.x))
    scores = e_hat @ bank.T
    scores[torch.arange(graph.num_nodes), torch.arange(graph.num_nodes)] = float("-inf")
    k = model.top_k
    expected = torch.stack([torch.softmax(row.topk(k).values, 0) @ bank[row.topk(k).indices] for row in scores])
    np.testing.assert_allclose(model.virtual_neighbor_embeddings(graph.x, node_ids=ids), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(model.virtual_neighbor_embeddings(graph.x), virtual_neighbors(e_hat, bank, k).numpy(), atol=1e-5)
    loaded = ColdBrew.load(model.save(tmp_path / "lso"))
    assert loaded.leave_self_out and torch.equal(loaded.student_.bank_node_ids, model.student_.bank_node_ids)
    np.testing.assert_allclose(loaded.predict_proba(graph.x, node_ids=ids), model.predict_proba(graph.x, node_ids=ids), atol=1e-6)
    with pytest.raises(DataError, match="node_ids"):
        model.predict(graph.x[:3], node_ids=[0, 1])


def test_cross_fitted_embeddings_hold_each_training_node_out(monkeypatch, small_graph) -> None:
    import iclr22.coldbrew.train as train_module
    from iclr22.coldbrew.model import ColdBrewStudent

    graph, split, train, val, _ = small_graph
    data = validate_graph(graph.x, split.edge_index, graph.y, train, val)
    target = torch.randn(graph.num_nodes, 7, generator=torch.Generator().manual_seed(0))
    connected = data.degrees() > 0
    seen: list[torch.Tensor] = []
    real_fit = train_module.fit_student_part1

    def recording_fit(student, x, target_embeddings, val_mask, part1_mask, settings):
        seen.append(part1_mask.clone())
        return real_fit(student, x, target_embeddings, val_mask, part1_mask, settings)

    monkeypatch.setattr(train_module, "fit_student_part1", recording_fit)
    student = ColdBrewStudent(data.x.shape[1], 7, data.num_classes, 16, 2, 0.0, top_k=3, part2_input="code", alpha_init=1.0, leave_self_out=False)
    settings = train_module.TrainSettings(0.005, 5e-4, 2, None, None, "fold")
    e_hat = train_module.cross_fitted_embeddings(student, data.x, target, data.train_mask, data.val_mask, connected, 3, settings, seed=0)
    assert e_hat.shape == (int(train.sum()), 7) and len(seen) == 3
    held_out = [connected & ~mask for mask in seen]  # the part-1 nodes each fold model never regressed
    assert all(not bool((mask & ~connected).any()) for mask in seen)
    train_t = torch.from_numpy(train)
    covered = torch.zeros_like(train_t)
    for fold in held_out:
        assert not bool((fold & ~train_t).any())  # only training nodes are held out
        assert not bool((fold & covered).any())  # each in one fold
        covered |= fold
    assert torch.equal(covered, train_t & connected)
    with pytest.raises(ConfigError, match="2 folds"):
        train_module.cross_fitted_embeddings(student, data.x, target, data.train_mask, data.val_mask, connected, 1, settings)


# ----------------------------------------------------------------------------------------- bad input
def _good_arrays():
    x = np.random.default_rng(0).random((6, 3)).astype(np.float32)
    edge_index = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])
    y = np.array([0, 1, 0, 1, 0, 1])
    train = np.array([True, True, False, False, False, False])
    return x, edge_index, y, train


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: (a[0], np.zeros((2, 0), dtype=np.int64), a[2], a[3]), "no edges"),
        (lambda a: (np.where(np.arange(18).reshape(6, 3) == 4, np.nan, a[0]), a[1], a[2], a[3]), "NaN"),
        (lambda a: (a[0], a[1], np.array([0, 1, 0, 7, 0, 1]), a[3]), "label 7 is out of range"),
        (lambda a: (a[0], a[1], a[2], a[3][:4]), "length 6"),
        (lambda a: (a[0], np.array([[0, 1], [1, 9]]), a[2], a[3]), r"edge_index: node id out of range \[0, 6\): 0..9"),
        (lambda a: (a[0], a[1], np.array([-1, 1, 0, 1, 0, 1]), a[3]), "unlabelled"),
    ],
)
def test_bad_graphs_raise_data_error(change, message) -> None:
    x, edge_index, y, train = change(_good_arrays())
    with pytest.raises(DataError, match=message):
        ColdBrew().fit(x, y, edge_index=edge_index, train_mask=train, num_classes=2 if message.startswith("label") else None)


def test_overlapping_train_and_validation_masks_are_refused_everywhere() -> None:
    """Every stage keeps the epoch best on the validation nodes: a validation node that trains makes that choice
    meaningless, so fit, the functional entry point and the public label split refuse it (as the fit verb does)."""
    from iclr22.coldbrew.estimator import cold_brew

    x, edge_index, y, train = _good_arrays()
    val = np.array([False, True, True, False, False, False])  # node 1 is in both
    with pytest.raises(DataError, match=r"overlap on 1 node\(s\) \(e.g. 1\)"):
        ColdBrew().fit(x, y, edge_index=edge_index, train_mask=train, val_mask=val)
    with pytest.raises(DataError, match="overlap"):
        cold_brew(x, y, edge_index, train, val)
    with pytest.raises(DataError, match="the dataset's public split: the train and validation masks overlap"):
        label_split(y, "public", train_mask=train, val_mask=val)
    train_public, val_public, _ = label_split(y, "public", train_mask=train, val_mask=val & ~train)
    assert not (train_public & val_public).any() and val_public[2]


def test_bad_parameters_raise_config_error() -> None:
    x, edge_index, y, train = _good_arrays()
    with pytest.raises(ConfigError, match="part1_nodes"):
        ColdBrew(part1_nodes="everything").fit(x, y, edge_index=edge_index, train_mask=train)
    with pytest.raises(ConfigError, match="alpha_init"):
        ColdBrew(alpha_init=float("nan")).fit(x, y, edge_index=edge_index, train_mask=train)


def test_alpha_init_reaches_the_student_and_survives_save_load(tmp_path: Path, small_graph) -> None:
    graph, split, train, val, _ = small_graph
    model = ColdBrew(epochs=3, student_epochs=1, patience=None, seed=0, alpha_init=0.5)
    model.fit(graph.x, graph.y, edge_index=split.edge_index, train_mask=train, val_mask=val)
    # one Adam step (lr 0.005) moves each α by at most ~lr from where it started
    np.testing.assert_allclose(model.student_.alphas.detach().numpy(), [0.5, 0.5], atol=0.01)
    loaded = ColdBrew.load(model.save(tmp_path / "student"))
    assert loaded.alpha_init == 0.5 and loaded.student_.alpha_init == 0.5
    np.testing.assert_allclose(loaded.predict_proba(graph.x[:5]), model.predict_proba(graph.x[:5]), atol=1e-6)


# ------------------------------------------------------------------------------------------------- CLI
def _write_planetoid(folder: Path, name: str, poison_nan: bool = False, no_edges: bool = False) -> None:
    """A small Planetoid-format dataset (ind.<name>.*) cut from the synthetic generator."""
    graph = make_cold_start_graph(num_nodes=300, seed=1)
    n, c = graph.num_nodes, 5
    x = graph.x.astype(np.float64)
    if poison_nan:
        x[5, 2] = np.nan
    onehot = np.eye(c)[graph.y]
    num_train, num_test = 60, 100
    test_ids = np.arange(n - num_test, n)
    files = {
        "x": x[:num_train], "y": onehot[:num_train], "allx": x[: n - num_test], "ally": onehot[: n - num_test],
        "tx": x[test_ids], "ty": onehot[test_ids],
        "graph": {i: [] if no_edges else graph.edge_index[1, graph.edge_index[0] == i].tolist() for i in range(n)},
    }
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, value in files.items():
        with open(folder / f"ind.{name}.{suffix}", "wb") as handle:
            pickle.dump(value, handle, protocol=2)
    (folder / f"ind.{name}.test.index").write_text("\n".join(map(str, test_ids[::-1])) + "\n")


def test_quick_cli_run_on_embedded_graph(tmp_path: Path) -> None:
    assert main(["run", "coldbrew", "--quick", "--out", str(tmp_path)]) == 0
    metrics = read_metrics(tmp_path / "metrics.json")
    results = metrics["results"]
    for model in ("gcn", "sage", "mlp", "graphmlp", "gcn_se", "coldbrew"):
        for metric in ("acc_isolated", "acc_tail", "acc_head", "acc_overall"):
            assert 0 <= results[model][metric] <= 100
    assert "fcr" in results["dataset"]
    assert metrics["headline"]["model"] == "coldbrew" and (tmp_path / "accuracy_by_split.png").is_file()


def test_baselines_in_a_worker_process_give_the_same_numbers(tmp_path: Path) -> None:
    quick = ["run", "coldbrew", "--quick", "--set", "synthetic_nodes=300", "--set", "models=gcn,mlp,gcn_se,coldbrew"]
    assert main([*quick, "--set", "n_jobs=1", "--out", str(tmp_path / "one")]) == 0
    assert main([*quick, "--set", "n_jobs=2", "--out", str(tmp_path / "two")]) == 0
    one = read_metrics(tmp_path / "one" / "metrics.json")["results"]
    two = read_metrics(tmp_path / "two" / "metrics.json")["results"]
    assert one == two
    assert {"gcn", "mlp", "gcn_se", "coldbrew", "gcn_train_mode", "gcn_se_train_mode"} <= set(one)


def test_any_planetoid_name_runs_and_bad_files_exit_2(tmp_path: Path, capsys) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    _write_planetoid(good, "toygraph")
    graph = load_planetoid_graph(good, "toygraph")
    assert graph.num_nodes == 300 and graph.train_mask.sum() == 60 and graph.test_mask.sum() == 100
    out = tmp_path / "out"
    args = ["run", "coldbrew", "--dataset", "toygraph", "--data-dir", str(good), "--quick", "--out", str(out),
            "--set", "models=mlp,gcn_se,coldbrew", "--set", "label_split=first_n", "--set", "num_train=60", "--set", "num_val=60"]
    titles: list[str] = []
    import matplotlib.axes

    original = matplotlib.axes.Axes.set_title
    matplotlib.axes.Axes.set_title = lambda self, label, *a, **k: (titles.append(label), original(self, label, *a, **k))[1]
    try:
        assert main(args) == 0
    finally:
        matplotlib.axes.Axes.set_title = original
    metrics = read_metrics(out / "metrics.json")
    assert set(metrics["results"]) >= {"mlp", "gcn_se", "coldbrew", "dataset"}
    # a user's graph has no paper numbers: no paper wording in the figure or the notes
    assert titles == ["Cold Brew on toygraph: accuracy by degree split"]
    assert not any("paper's" in note or "official code selects" in note for note in metrics["notes"]), metrics["notes"]
    assert "quick mode: shrunk schedules (a smoke test)" in metrics["notes"]

    empty = tmp_path / "empty"
    _write_planetoid(empty, "toygraph", no_edges=True)
    capsys.readouterr()
    assert main(["run", "coldbrew", "--dataset", "toygraph", "--data-dir", str(empty), "--quick", "--out", str(tmp_path / "o3")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no edges" in err and str(empty) in err, err

    _write_planetoid(bad, "toygraph", poison_nan=True)
    capsys.readouterr()
    assert main(["run", "coldbrew", "--dataset", "toygraph", "--data-dir", str(bad), "--quick", "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NaN" in err
    assert main(["run", "coldbrew", "--dataset", "nosuchgraph", "--data-dir", str(good), "--quick"]) == 2
    assert "ind.nosuchgraph" in capsys.readouterr().err
    assert main(["run", "coldbrew", "--quick", "--set", "split=sideways"]) == 2


# ------------------------------------------------------------------------------------------- real data
def test_cora_official_split_matches_the_paper_page(shared_data: Path) -> None:
    graph = load_planetoid_graph(shared_data / "planetoid", "cora")
    official = degree_split(graph.edge_index, graph.num_nodes, "official")
    assert official.summary() == {"isolated": 534, "tail": 534, "head": 286}
    paper = degree_split(graph.edge_index, graph.num_nodes, "paper", 0.1, seed=0)
    assert paper.summary() == {"isolated": 271, "tail": 271, "head": 271}
