"""The distillation loop on tiny models: label flow, re-initialisation, mutual averaging, selection, resume."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.sentence_pairs import SentencePairs
from iclr22.transencoder import train as te_train
from iclr22.transencoder.model import BiEncoder, CrossEncoder
from iclr22.transencoder.synthetic import make_sts_sample
from iclr22.transencoder.estimator import TransEncoder, mutual_distill
from iclr22.transencoder.train import PhaseLimitReached

FAST = dict(cycles=2, bi_epochs=1, cross_batch_size=8, bi_batch_size=8, eval_steps=0, label_batch_size=32)


def _pairs(n: int, seed: int) -> SentencePairs:
    return make_sts_sample(n, seed)


def _weights_hash(module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def test_labels_flow_bi_to_cross_to_bi_and_students_restart_each_cycle(tiny_model, tmp_path, monkeypatch):
    pairs, dev = _pairs(16, 1), _pairs(12, 2)
    original = _weights_hash(BiEncoder.load(tiny_model).module)
    seen = {"cross": [], "bi": []}
    real_cross, real_bi = te_train.train_cross_encoder, te_train.train_bi_encoder

    def spy_cross(cross, unlabelled, labels, config, dev=None, seed=0, desc="", verbose=None):
        seen["cross"].append((np.array(labels), type(cross)))
        return real_cross(cross, unlabelled, labels, config, dev, seed, desc, verbose)

    def spy_bi(bi, unlabelled, labels, config, dev=None, seed=0, desc="", verbose=None):
        seen["bi"].append((np.array(labels), _weights_hash(bi.module), type(bi)))
        return real_bi(bi, unlabelled, labels, config, dev, seed, desc, verbose)

    monkeypatch.setattr(te_train, "train_cross_encoder", spy_cross)
    monkeypatch.setattr(te_train, "train_bi_encoder", spy_bi)
    result = TransEncoder(str(tiny_model), **FAST, checkpoint_dir=tmp_path / "ck").fit(pairs, dev=dev, test=dev).result_

    # cycle 1: the cross-encoder learns the untouched bi-encoder's raw cosines
    start_cos = BiEncoder.load(tiny_model).score(pairs.sentence1, pairs.sentence2)
    assert np.allclose(seen["cross"][0][0], start_cos, atol=1e-5) and seen["cross"][0][1] is CrossEncoder
    # the bi-encoder learns the cross-encoder's sigmoid scores (saved labels), and restarts from the original weights
    cross_labels = np.load(tmp_path / "ck" / "labels" / "cycle1_from_cross.npy")
    assert np.allclose(seen["bi"][0][0], cross_labels) and ((cross_labels > 0) & (cross_labels < 1)).all()
    assert seen["bi"][0][1] == original and seen["bi"][1][1] == original  # --init_with_new_models
    # cycle 2's cross labels come from cycle 1's trained bi-encoder, not the untouched one
    cycle1_bi = BiEncoder.load(tmp_path / "ck" / "cycle1" / "bi0")
    assert np.allclose(seen["cross"][1][0], cycle1_bi.score(pairs.sentence1, pairs.sentence2), atol=1e-5)
    assert not np.allclose(seen["cross"][1][0], start_cos, atol=1e-4)
    assert isinstance(result.bi_encoder, BiEncoder) and isinstance(result.cross_encoder, CrossEncoder)
    assert [(h["cycle"], h["kind"]) for h in result.history] == [(1, "cross"), (1, "bi"), (2, "cross"), (2, "bi")]


def test_without_reinitialisation_the_bi_encoder_continues_from_the_last_cycle(tiny_model, tmp_path, monkeypatch):
    hashes = []
    real_bi = te_train.train_bi_encoder

    def spy_bi(bi, *args, **kwargs):
        hashes.append(_weights_hash(bi.module))
        return real_bi(bi, *args, **kwargs)

    monkeypatch.setattr(te_train, "train_bi_encoder", spy_bi)
    TransEncoder(str(tiny_model), **{**FAST, "init_with_new_models": False}, checkpoint_dir=tmp_path / "ck").fit(_pairs(16, 1))
    assert hashes[1] == _weights_hash(BiEncoder.load(tmp_path / "ck" / "cycle1" / "bi0").module) != hashes[0]


def test_mutual_distillation_trains_both_students_on_the_averaged_labels(tiny_model, tiny_model_b, tmp_path, monkeypatch):
    pairs = _pairs(12, 3)
    seen = []
    real_cross = te_train.train_cross_encoder

    def spy_cross(cross, unlabelled, labels, *args, **kwargs):
        seen.append(np.array(labels))
        return real_cross(cross, unlabelled, labels, *args, **kwargs)

    monkeypatch.setattr(te_train, "train_cross_encoder", spy_cross)
    result = mutual_distill(pairs, [str(tiny_model), str(tiny_model_b)], **{**FAST, "cycles": 1}, checkpoint_dir=tmp_path / "ck",
                            dev=_pairs(12, 4))
    cos_a = BiEncoder.load(tiny_model).score(pairs.sentence1, pairs.sentence2)
    cos_b = BiEncoder.load(tiny_model_b).score(pairs.sentence1, pairs.sentence2)
    assert len(seen) == 2 and np.allclose(seen[0], (cos_a + cos_b) / 2, atol=1e-5) and np.allclose(seen[1], seen[0])
    assert len(result.bi_encoders) == len(result.cross_encoders) == 2
    assert set(result.ensemble) == {"bi", "cross"} and result.ensemble["bi"]["dev"] is not None
    with pytest.raises(ConfigError):
        mutual_distill(pairs, [str(tiny_model)])


def test_cycles_are_selected_on_dev(tiny_model, tmp_path):
    result = TransEncoder(str(tiny_model), **{**FAST, "cycles": 3}, checkpoint_dir=tmp_path / "ck").fit(
        _pairs(16, 1), dev=_pairs(12, 2)).result_
    for kind in ("bi", "cross"):
        rows = [h for h in result.history if h["kind"] == kind]
        assert result.selected[kind][0] == max(rows, key=lambda h: h["dev"])["cycle"]
    pairs = _pairs(8, 5)
    chosen = BiEncoder.load(tmp_path / "ck" / f"cycle{result.selected['bi'][0]}" / "bi0")
    assert np.allclose(result.bi_encoder.score(pairs.sentence1, pairs.sentence2), chosen.score(pairs.sentence1, pairs.sentence2), atol=1e-6)


def test_an_interrupted_run_resumes_at_the_next_phase_with_the_same_numbers(tiny_model, tmp_path):
    pairs, dev = _pairs(16, 1), _pairs(12, 2)
    straight = TransEncoder(str(tiny_model), **FAST, checkpoint_dir=tmp_path / "a", seed=3).fit(pairs, dev=dev).result_
    chunked = TransEncoder(str(tiny_model), **FAST, checkpoint_dir=tmp_path / "b", seed=3)
    with pytest.raises(PhaseLimitReached, match="cycle1-bi is next"):
        chunked.fit(pairs, dev=dev, max_phases=2)  # the start evaluation and cycle 1's cross phase
    resumed = chunked.fit(pairs, dev=dev).result_
    assert [p["resumed"] for p in resumed.phase_times] == [True, True, False, False, False]
    for a, b in zip(straight.history, resumed.history):
        assert a["dev"] == pytest.approx(b["dev"], abs=1e-6)
    with pytest.raises(ConfigError, match="different run"):
        TransEncoder(str(tiny_model), **FAST, checkpoint_dir=tmp_path / "b", seed=4).fit(pairs, dev=dev)


def test_bad_pairs_are_data_errors(tiny_model):
    te = TransEncoder(str(tiny_model), **FAST)
    with pytest.raises(DataError, match="empty sentence"):
        te.fit(SentencePairs(["a man .", " "], ["a dog .", "a cat ."]))
    with pytest.raises(DataError, match="no unlabelled"):
        te.fit(SentencePairs([], []))
    with pytest.raises(DataError, match="gold scores"):
        te.fit(_pairs(8, 1), dev=SentencePairs(["a man ."], ["a dog ."]))


def test_a_finished_run_can_be_extended_by_more_cycles_keeping_its_phases(tiny_model, tmp_path):
    pairs = _pairs(16, 1)
    TransEncoder(str(tiny_model), **{**FAST, "cycles": 1}, checkpoint_dir=tmp_path / "ck").fit(pairs)
    longer = TransEncoder(str(tiny_model), **FAST, checkpoint_dir=tmp_path / "ck").fit(pairs).result_
    assert [p["resumed"] for p in longer.phase_times] == [True, True, True, False, False]
