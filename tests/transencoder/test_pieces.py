"""The loop's pieces against hand-written formulas: losses, symmetric pairs, label averaging, sigmoid, Spearman."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.transencoder.model import BiEncoder, CrossEncoder
from iclr22.transencoder.train import average_labels, cosine_mse_loss, soft_bce_loss, spearman, symmetric_pairs


def test_soft_bce_matches_the_formula_including_negative_cosine_targets():
    logits = torch.tensor([0.3, -1.2, 2.0, 0.0])
    targets = torch.tensor([0.9, 0.1, -0.2, 0.5])  # a negative cosine stays a target, as in the official code
    sig = torch.sigmoid(logits)
    expected = -(targets * torch.log(sig) + (1 - targets) * torch.log(1 - sig)).mean()
    assert torch.allclose(soft_bce_loss(logits, targets), expected, atol=1e-6)


def test_cosine_mse_is_mse_between_cosine_and_label():
    a, b = torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 2.0], [2.0, 2.0]])
    labels = torch.tensor([0.5, 0.25])
    expected = ((torch.tensor([0.0, 1.0]) - labels) ** 2).mean()
    assert torch.allclose(cosine_mse_loss(a, b, labels), expected, atol=1e-6)


def test_symmetric_pairs_duplicate_each_pair_in_both_orders_with_its_label():
    first, second, labels = symmetric_pairs(["a", "b"], ["x", "y"], np.array([0.1, 0.7]))
    assert list(zip(first, second, labels)) == [("a", "x", 0.1), ("b", "y", 0.7), ("x", "a", 0.1), ("y", "b", 0.7)]


def test_average_labels_is_the_mean_over_teachers():
    assert np.allclose(average_labels([np.array([0.2, 0.8]), np.array([0.6, 0.0])]), [0.4, 0.4])
    assert np.allclose(average_labels([np.array([0.3])]), [0.3])
    with pytest.raises(ConfigError):
        average_labels([])


def test_spearman_is_times_100_and_nan_for_constant_input():
    assert spearman(np.array([1, 2, 3]), np.array([10, 20, 30])) == pytest.approx(100.0)
    assert spearman(np.array([3, 2, 1]), np.array([10, 20, 30])) == pytest.approx(-100.0)
    assert math.isnan(spearman(np.array([1, 1, 1]), np.array([1, 2, 3])))


def test_cross_encoder_scores_are_sigmoid_of_pair_logits_and_it_has_no_embedder(tiny_model):
    cross = CrossEncoder.load(tiny_model, max_length=32)
    s1, s2 = ["a man is running .", "a dog is sleeping ."], ["a guy is jogging .", "a cat is eating an apple ."]
    with torch.no_grad():
        logits = cross.logits(s1, s2)
    assert np.allclose(cross.score(s1, s2), torch.sigmoid(logits).numpy(), atol=1e-6)
    assert not hasattr(cross, "encode")  # a cross-encoder is never a sentence embedder (official issue #8)
    # the pair is read in one pass: swapping the order changes the input (token types), so scores may differ
    assert cross.tokenize(s1, s2)["input_ids"].shape[0] == 2


def test_bi_encoder_score_is_the_cosine_of_its_embeddings(tiny_model):
    bi = BiEncoder.load(tiny_model)
    s1, s2 = ["a man is running ."], ["a dog is sleeping in the park ."]
    e1, e2 = bi.encode(s1), bi.encode(s2)
    cosine = float(e1[0] @ e2[0] / np.linalg.norm(e1[0]) / np.linalg.norm(e2[0]))
    assert bi.score(s1, s2)[0] == pytest.approx(cosine, abs=1e-5)
    with pytest.raises(DataError):
        bi.score(["a"], ["b", "c"])


def test_missing_or_empty_model_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        BiEncoder.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a model folder"):
        CrossEncoder.load(tmp_path / "empty")


def test_pairs_tsv_checks_the_declared_score_range_and_required_scores(tmp_path):
    from iclr22.data.sentence_pairs import load_pairs_tsv

    path = tmp_path / "test.tsv"
    path.write_text("sentence1\tsentence2\tscore\na b\tc d\t5.0\ne f\tg h\t0\n", encoding="utf-8")
    assert load_pairs_tsv(path, score_range=(0, 5), require_scores=True).scores.tolist() == [5.0, 0.0]
    with pytest.raises(DataError, match="line 2: score 5.0 outside the declared range 0..1"):
        load_pairs_tsv(path, score_range=(0, 1))
    path.write_text("sentence1\tsentence2\na b\tc d\n", encoding="utf-8")
    assert load_pairs_tsv(path).scores is None
    with pytest.raises(DataError, match="gold scores needed"):
        load_pairs_tsv(path, require_scores=True)
