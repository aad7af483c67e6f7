"""Figures for free-text columns: how synthetic text compares with the real column, each beside the same
figure for real text the generator never saw (the holdout, or else one half of the training rows against
the other), and how much of it repeats the training text.

Quality: lengths (mean, KS complement, missing share), word, word-pair and character 3-gram frequency
similarity (cosine), vocabulary overlap, distinct share, a classifier two-sample test (TF-IDF character
n-grams and logistic regression, ROC AUC; 0.5 is indistinguishable), and how well text predicts its row's
categories (a classifier trained on real text and rows, scored on synthetic pairs and on held-out real ones).

Privacy: exact copies of long texts, the longest run of characters shared with a training text, and the
shares of synthetic character 20- and 40-grams found in the training text.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from genesis_core.tabular.text.privacy import RunIndex, find_personal_data, longest_shared_run, shared_run_lengths

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
LONG_TEXT = 40  # characters: exact copies are counted among texts at least this long
MOST_TEXTS = 1500  # frequency similarities compare at most this many texts a side (a seeded sample)


def _texts(s: pd.Series) -> list[str]:
    return [str(v) for v in s.dropna() if str(v)]


def _cosine(a: list[str], b: list[str], **vectorizer) -> float:
    from sklearn.feature_extraction.text import CountVectorizer

    if not a or not b:
        return float("nan")
    try:
        counts = CountVectorizer(**vectorizer).fit(a + b)
    except ValueError:  # an empty vocabulary
        return float("nan")
    x = np.asarray(counts.transform(a).sum(0)).ravel().astype(float)
    y = np.asarray(counts.transform(b).sum(0)).ravel().astype(float)
    return float(x @ y / max(np.linalg.norm(x) * np.linalg.norm(y), 1e-12))


def _words(texts: list[str]) -> list[str]:
    return [w.lower() for t in texts for w in WORD.findall(t)]


def _ks_complement(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    if not len(a) or not len(b):
        return float("nan")
    return float(1 - ks_2samp(a, b).statistic)


def two_sample_auc(real: list[str], other: list[str], seed: int = 0, most: int = 1000) -> float:
    """Cross-validated ROC AUC of telling `other` from `real` by TF-IDF character 1-4-grams within words
    (hashed once; IDF and the logistic regression fit in each fold): 0.5 is cannot."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(seed)
    n = min(len(real), len(other), most)
    if n < 10:
        return float("nan")
    a = [real[i] for i in rng.choice(len(real), n, replace=False)]
    b = [other[i] for i in rng.choice(len(other), n, replace=False)]
    x = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=2**18, alternate_sign=False,
                          norm=None).transform(a + b)
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = make_pipeline(TfidfTransformer(sublinear_tf=True), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(min(5, n // 2), shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(clf, x, y, cv=folds, scoring="roc_auc")))


def _label_accuracy(train_text: list[str], train_y: list[str], test_text: list[str], test_y: list[str]) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if len(set(train_y)) < 2 or not test_text:
        return float("nan")
    clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                        LogisticRegression(max_iter=1000))
    clf.fit(train_text, train_y)
    return float(np.mean(clf.predict(test_text) == np.asarray(test_y)))


def text_fits_row(train: pd.DataFrame, reference: pd.DataFrame, synth: pd.DataFrame, column: str,
                  label_columns: list[str]) -> list[dict[str, Any]]:
    """For each label column (a category with 2-20 values): a classifier trained on half of the real rows'
    text -> label, scored on the other real half (or the holdout) and on the synthetic rows."""
    out = []
    for label in label_columns:
        def pairs(frame):
            rows = frame[[column, label]].dropna()
            return rows[column].astype(str).tolist(), rows[label].astype(str).tolist()

        tx, ty = pairs(train)
        rx, ry = pairs(reference)
        sx, sy = pairs(synth)
        if len(set(ty)) < 2 or len(tx) < 20:
            continue
        majority = pd.Series(ry).value_counts(normalize=True).iloc[0] if ry else float("nan")
        out.append({"column": label, "real_accuracy": _label_accuracy(tx, ty, rx, ry),
                    "synthetic_accuracy": _label_accuracy(tx, ty, sx, sy), "majority_share": float(majority)})
    return out


def _gram_copy_share(index: RunIndex, texts: list[str], n: int) -> float:
    found, _ = index.hits(texts, n)
    return float(found.mean()) if len(found) else 0.0


def _sample(texts: list[str], most: int, seed: int) -> list[str]:
    if len(texts) <= most:
        return texts
    return [texts[i] for i in np.sort(np.random.default_rng(seed).choice(len(texts), most, replace=False))]


def column_text_report(train: pd.DataFrame, synth: pd.DataFrame, reference: pd.DataFrame, column: str,
                       label_columns: list[str], reference_name: str, seed: int = 0,
                       trained_on: pd.DataFrame | None = None) -> dict[str, Any]:
    """Every figure for one text column: synthetic vs `train` text, and the reference (real text not in
    `train`) vs `train` beside it. Copies are counted against `trained_on` (all the text the model saw;
    default `train`)."""
    tr, sy, ref = _texts(train[column]), _texts(synth[column]), _texts(reference[column])
    seen = _texts((trained_on if trained_on is not None else train)[column])
    seen_index, train_index = RunIndex(seen), RunIndex(tr)
    tr_sample = _sample(tr, MOST_TEXTS, seed)

    vocab = set(_words(tr))

    def side(texts: list[str], frame: pd.DataFrame, against: RunIndex) -> dict[str, Any]:
        lengths = np.array([len(t) for t in texts])
        words = _words(texts)
        long_texts = [t for t in texts if len(t) >= LONG_TEXT]
        train_set = set(against.texts)
        some = _sample(texts, MOST_TEXTS, seed)
        return {
            "rows": int(len(frame)), "missing_share": float(frame[column].isna().mean()) if len(frame) else float("nan"),
            "mean_length": float(lengths.mean()) if len(lengths) else float("nan"),
            "median_length": float(np.median(lengths)) if len(lengths) else float("nan"),
            "length_similarity": _ks_complement(np.array([len(t) for t in tr]), lengths),
            "word_similarity": _cosine(tr_sample, some, token_pattern=WORD.pattern, lowercase=True),
            "word_pair_similarity": _cosine(tr_sample, some, token_pattern=WORD.pattern, lowercase=True,
                                            ngram_range=(2, 2), min_df=1, max_features=50_000),
            "char_trigram_similarity": _cosine(tr_sample, some, analyzer="char", ngram_range=(3, 3),
                                               max_features=50_000),
            "vocabulary_overlap": float(np.mean([w in vocab for w in words])) if words else float("nan"),
            "distinct_share": float(len(set(texts)) / len(texts)) if texts else float("nan"),
            "exact_copy_share": float(np.mean([t in train_set for t in long_texts])) if long_texts else 0.0,
            "char20_copy_share": _gram_copy_share(against, texts, 20),
            "char40_copy_share": _gram_copy_share(against, texts, 40),
            "personal_data_found": int(sum(len(find_personal_data(t)) for t in texts)),
        }

    synthetic, real = side(sy, synth, seen_index), side(ref, reference, train_index)
    synthetic["two_sample_auc"] = two_sample_auc(tr, sy, seed)
    real["two_sample_auc"] = two_sample_auc(tr, ref, seed)
    runs = shared_run_lengths(seen_index, sy) if sy else np.zeros(0)
    ref_runs = shared_run_lengths(train_index, ref) if ref else np.zeros(0)
    synthetic["longest_shared_run"] = longest_shared_run(seen_index, sy) if sy else 0
    real["longest_shared_run"] = longest_shared_run(train_index, ref) if ref else 0
    for n in (20, 40, 80):
        synthetic[f"share_sharing_{n}_chars"] = float(np.mean(runs >= n)) if len(runs) else 0.0
        real[f"share_sharing_{n}_chars"] = float(np.mean(ref_runs >= n)) if len(ref_runs) else 0.0
    lengths = {name: np.array([len(t) for t in texts]) for name, texts in (("training", tr), ("synthetic", sy),
                                                                            ("reference", ref))}
    top = max(float(np.percentile(np.concatenate(list(lengths.values())), 99)), 1.0) if any(
        len(v) for v in lengths.values()) else 1.0
    edges = np.linspace(0, top, 31)
    histogram = {"edges": edges.round(1).tolist(), **{k: (np.histogram(np.clip(v, 0, top), edges)[0] / max(len(v), 1))
                                                       .round(5).tolist() for k, v in lengths.items()}}
    return {"column": column, "synthetic": synthetic, "reference": real, "reference_name": reference_name,
            "length_histogram": histogram,
            "fits_row": text_fits_row(train, reference, synth, column, label_columns),
            "examples": {"real": ref[:5] if ref else tr[:5], "synthetic": sy[:5]}}


def text_report(train: pd.DataFrame, holdout: pd.DataFrame | None, synth: pd.DataFrame, schema: list,
                seed: int = 0) -> list[dict[str, Any]]:
    """One entry per text column the synthetic table has (frames as the user wrote them)."""
    columns = [c.name for c in schema if c.kind == "text" and c.name in synth.columns and c.name in train.columns]
    if not columns:
        return []
    labels = [c.name for c in schema if c.kind in ("categorical", "boolean") and c.name in synth.columns
              and 2 <= train[c.name].nunique() <= 20][:3]
    if holdout is not None and len(holdout) >= 10:
        fit_rows, reference, name = train, holdout, "held-out real rows"
    else:  # real against real: one half of the training rows against the other
        order = np.random.default_rng(seed).permutation(len(train))
        half = len(train) // 2
        fit_rows = train.iloc[np.sort(order[:half])].reset_index(drop=True)
        reference = train.iloc[np.sort(order[half:])].reset_index(drop=True)
        name = "real rows against the other half (no holdout)"
    return [column_text_report(fit_rows, synth, reference, c, labels, name, seed, trained_on=train) for c in columns]


FIGURES = [  # (key, label, ideal) of the side-by-side table
    ("mean_length", "mean length (characters)", "as the training text"),
    ("missing_share", "missing share", "as the training text"),
    ("length_similarity", "length distribution similarity (KS complement)", "1"),
    ("word_similarity", "word frequency similarity (cosine)", "1"),
    ("word_pair_similarity", "word-pair frequency similarity (cosine)", "1"),
    ("char_trigram_similarity", "character 3-gram similarity (cosine)", "1"),
    ("vocabulary_overlap", "words that occur in the training text (share)", "1"),
    ("distinct_share", "distinct texts (share)", "1"),
    ("two_sample_auc", "classifier two-sample test (ROC AUC)", "0.5"),
    ("exact_copy_share", f"exact copies of training texts >= {LONG_TEXT} characters (share)", "0"),
    ("longest_shared_run", "longest run of characters shared with a training text", "as the reference"),
    ("share_sharing_40_chars", "texts sharing a run of >= 40 characters (share)", "as the reference"),
    ("char20_copy_share", "character 20-grams found in the training text (share)", "as the reference"),
    ("personal_data_found", "emails, phone numbers, full names found", "0 (after replacement)"),
]


def figures_table(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """One text column's figures: synthetic beside the reference (real text the model never saw)."""
    return [{"figure": label, "synthetic": entry["synthetic"].get(key), "reference (real)": entry["reference"].get(key),
             "ideal": ideal} for key, label, ideal in FIGURES]


def length_figure(entry: dict[str, Any]):
    """Histogram of text lengths: training, synthetic and reference text, as shares of their texts."""
    import plotly.graph_objects as go

    h = entry["length_histogram"]
    mids = [(a + b) / 2 for a, b in zip(h["edges"][:-1], h["edges"][1:])]
    fig = go.Figure()
    for name, color in (("training", "#1f77b4"), ("synthetic", "#ff7f0e"), ("reference", "#2ca02c")):
        fig.add_trace(go.Scatter(x=mids, y=h[name], name=name, mode="lines", line={"color": color, "shape": "hvh"}))
    fig.update_layout(title=f"{entry['column']}: length", xaxis_title="characters", yaxis_title="share of texts",
                      height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
