"""Auxiliary pair tasks of the byte Llama: the pairs mean what their labels say, the heads train in the same
step as the bytes, are scored on held-out pairs and come back with the checkpoint."""

import re

import numpy as np
import pytest
import torch

from genesis_core.lm.bytes import EOS, PAD, decode, encode
from genesis_core.lm.corpus import builtin_language
from genesis_core.lm.pair_tasks import PairTasksConfig, build_pairs, meaning_edit, surface_edit
from genesis_core.store.metrics import MetricsReader
from genesis_core.training.loading import load_model
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.vision.helpers import make_task

CFG = PairTasksConfig(coherence=1, reference=1, paraphrase=1, segment_bytes=24, span_bytes=8)


def split(row):
    row = [int(t) for t in row if t != PAD]
    sep = row.index(EOS)
    return np.array(row[:sep]), np.array(row[sep + 1:])


def contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    return len(needle) > 0 and bytes(haystack.astype(np.uint8)).find(bytes(needle.astype(np.uint8))) >= 0


@pytest.fixture(scope="module")
def text():
    return builtin_language("en").train[:200_000]


def test_coherence_positives_continue_their_segment_and_negatives_do_not(text):
    x, y = build_pairs("coherence", [text], 200, CFG, seed=0)
    ids = encode(text)
    assert x.shape == (200, CFG.width("coherence")) and 0.4 < y.mean() < 0.6
    for row, label in zip(x[:60], y[:60]):
        a, b = split(row)
        assert len(a) == len(b) == 24
        assert contains(ids, np.concatenate([a, b])) == bool(label)


def test_reference_positives_are_cut_from_their_window(text):
    x, y = build_pairs("reference", [text], 200, CFG, seed=1)
    for row, label in zip(x[:80], y[:80]):
        window, span = split(row)
        assert len(window) == 48 and len(span) == 8
        if label:
            assert contains(window, span)


def test_paraphrase_positives_keep_the_words_and_negatives_change_them(text):
    x, y = build_pairs("paraphrase", [text], 200, CFG, seed=2)
    words = lambda ids: re.findall(r"\w+", decode(ids.tolist()))  # noqa: E731
    same = [words(split(r)[0]) == words(split(r)[1]) for r in x]
    assert all(s for s, label in zip(same, y) if label)  # a positive differs in spacing and punctuation only
    assert np.mean([not s for s, label in zip(same, y) if not label]) > 0.95
    rng = np.random.default_rng(0)
    sentence = "The cat sat on the mat, and then it slept."
    for _ in range(20):
        assert re.findall(r"\w+", surface_edit(sentence, rng)) == re.findall(r"\w+", sentence)
        assert re.findall(r"\w+", meaning_edit(sentence, ["dog", "house", "runs"], rng)) != re.findall(r"\w+", sentence)


def test_pair_heads_train_with_the_bytes_are_scored_and_reload(workspace):
    cfg = tiny_lm(data={"languages": ["en", "de"], "pair_tasks": {"coherence": 0.5, "reference": 0.5,
                                                                   "paraphrase": 0.5, "segment_bytes": 24,
                                                                   "span_bytes": 8, "eval_pairs": 128}},
                  trainer={"steps": 40, "eval_every": 40, "checkpoint_every": 0, "preview_every": 0})
    run = workspace.create_run("language_model", cfg)
    result = Trainer(make_task(cfg), run).fit()
    for task in ("coherence", "reference", "paraphrase"):
        assert 0.0 <= result.eval_metrics[f"eval/pair/{task}_auc"] <= 1.0
        assert 0.0 <= result.eval_metrics[f"eval/pair/{task}_acc"] <= 1.0
        logged = MetricsReader(run.metrics_path).series(f"pair/{task}_loss")["value"]
        assert len(logged) >= 3 and np.isfinite(logged).all()
    loaded = load_model(run.id, workspace)
    assert set(loaded.model.pair_heads) == {"coherence", "reference", "paraphrase"}
    x, _ = loaded.task.eval_pairs()["reference"]
    assert loaded.model.pair_logits(x[:4], "reference").shape == (4,)
    with pytest.raises(ValueError, match="no head"):
        load_model(run.id, workspace).model.pair_logits(x[:1], "sentiment")


def test_paraphrase_head_learns_above_chance(workspace):
    """The learnable one at this size: held-out AUC above 0.6 after a short run (chance 0.5)."""
    torch.manual_seed(0)
    cfg = tiny_lm(data={"languages": ["en"], "pair_tasks": {"paraphrase": 1.0, "segment_bytes": 24, "batch_size": 32,
                                                             "eval_pairs": 256}},
                  trainer={"steps": 250, "eval_every": 250, "checkpoint_every": 0, "preview_every": 0})
    result = Trainer(make_task(cfg), workspace.create_run("language_model", cfg)).fit()
    assert result.eval_metrics["eval/pair/paraphrase_auc"] > 0.6


def test_examples_longer_than_the_context_name_the_key():
    cfg = tiny_lm(data={"languages": ["en"], "pair_tasks": {"coherence": 1.0, "segment_bytes": 48}})
    task = make_task(cfg)  # context 64 < 97 bytes
    with pytest.raises(ValueError, match="data.pair_tasks.coherence.*segment_bytes"):
        task.build_loader()
