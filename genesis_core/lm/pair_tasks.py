"""Auxiliary pair tasks of the byte Llama (seed 002): binary questions about two pieces of text, asked of the
same network that models the bytes, each with its own weight in the loss.

    coherence    is segment B the text that directly follows segment A?   (B: the next bytes, or bytes from
                 far away in the same language)
    reference    does span S come from window W?                           (S: cut from W, or from elsewhere)
    paraphrase   is B a rewrite of A that keeps its meaning?               (B: A with surface edits only —
                 spacing, line breaks, spaces before punctuation; or A with a word swapped, replaced or dropped,
                 plus the same kind of surface edits, so surface noise alone never tells them apart)

Each example is one fixed-width sequence `A <eos> B <pad>...`, half of them positive. The pairs are built once
on the host from each language's text (train pairs from the train text, evaluation pairs from the held-out
text) and live on the training device; a step draws a batch of each enabled task there, so nothing per sample
goes through Python. The model answers from its last position (causal) or the mean of its positions (masked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genesis_core.lm.bytes import EOS, PAD, encode

PAIR_TASKS = ("coherence", "reference", "paraphrase")


@dataclass(frozen=True)
class PairTasksConfig:
    coherence: float = 0.0  # loss weight of each task (0: off)
    reference: float = 0.0
    paraphrase: float = 0.0
    batch_size: int = 8  # pairs of each enabled task per step
    segment_bytes: int = 48  # length of A and B (coherence, paraphrase) and of the window W (reference: 2x)
    span_bytes: int = 16  # the span S of the reference task
    train_pairs: int = 4096  # pairs built per task from the train text (drawn from at every step)
    eval_pairs: int = 512  # pairs built per task from the held-out text (scored at every evaluation)

    def __post_init__(self) -> None:
        for name in PAIR_TASKS:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if min(self.batch_size, self.segment_bytes, self.span_bytes, self.train_pairs, self.eval_pairs) < 1:
            raise ValueError("batch_size, segment_bytes, span_bytes, train_pairs and eval_pairs must be at least 1")
        if self.span_bytes >= 2 * self.segment_bytes:
            raise ValueError("span_bytes must be shorter than the reference window (2 x segment_bytes)")

    @property
    def enabled(self) -> tuple[str, ...]:
        return tuple(t for t in PAIR_TASKS if getattr(self, t) > 0)

    def width(self, task: str) -> int:
        """Bytes per example of a task: A, the separator, B (paraphrase leaves room for longer rewrites)."""
        s = self.segment_bytes
        return {"coherence": 2 * s + 1, "reference": 2 * s + 1 + self.span_bytes,
                "paraphrase": 2 * s + 1 + s // 4}[task]


# -- building pairs ----------------------------------------------------------------------------------------
def _join(a: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
    row = np.full(width, PAD, dtype=np.int64)
    seq = np.concatenate([a, [EOS], b])[:width]
    row[: len(seq)] = seq
    return row


def _far(rng: np.random.Generator, n: int, avoid_lo: int, avoid_hi: int, length: int) -> int:
    """A start in [0, n - length] outside [avoid_lo, avoid_hi] (or anywhere when the text is too short)."""
    for _ in range(20):
        q = int(rng.integers(0, n - length + 1))
        if q + length <= avoid_lo or q >= avoid_hi:
            return q
    return int(rng.integers(0, n - length + 1))


def coherence_pairs(ids: np.ndarray, n: int, cfg: PairTasksConfig, rng: np.random.Generator):
    s = cfg.segment_bytes
    if len(ids) < 8 * s:
        return None
    rows, labels = [], []
    for i in range(n):
        p = int(rng.integers(0, len(ids) - 2 * s + 1))
        a = ids[p:p + s]
        if i % 2 == 0:
            b, y = ids[p + s:p + 2 * s], 1
        else:
            q = _far(rng, len(ids), p - 2 * s, p + 3 * s, s)
            b, y = ids[q:q + s], 0
        rows.append(_join(a, b, cfg.width("coherence")))
        labels.append(y)
    return np.stack(rows), np.array(labels)


def reference_pairs(ids: np.ndarray, n: int, cfg: PairTasksConfig, rng: np.random.Generator):
    w, k = 2 * cfg.segment_bytes, cfg.span_bytes
    if len(ids) < 4 * w:
        return None
    rows, labels = [], []
    for i in range(n):
        p = int(rng.integers(0, len(ids) - w + 1))
        window = ids[p:p + w]
        if i % 2 == 0:
            o = int(rng.integers(0, w - k + 1))
            span, y = window[o:o + k], 1
        else:
            q = _far(rng, len(ids), p - k, p + w + k, k)
            span, y = ids[q:q + k], 0
        rows.append(_join(window, span, cfg.width("reference")))
        labels.append(y)
    return np.stack(rows), np.array(labels)


_WORD = re.compile(r"\w+", re.UNICODE)


def surface_edit(text: str, rng: np.random.Generator) -> str:
    """One edit that keeps the meaning: a doubled or dropped space, a line break for a space (or back), a space
    before or after punctuation added or removed."""
    kind = int(rng.integers(0, 4))
    spaces = [m.start() for m in re.finditer(r" ", text)]
    if kind == 0 and spaces:
        i = spaces[int(rng.integers(0, len(spaces)))]
        return text[:i] + "  " + text[i + 1:]
    if kind == 1 and spaces:
        i = spaces[int(rng.integers(0, len(spaces)))]
        return text[:i] + "\n" + text[i + 1:]
    if kind == 2 and "\n" in text:
        i = text.index("\n")
        return text[:i] + " " + text[i + 1:]
    marks = [m.start() for m in re.finditer(r"[,.;:!?]", text)]
    if marks:
        i = marks[int(rng.integers(0, len(marks)))]
        if i > 0 and text[i - 1] == " ":
            return text[:i - 1] + text[i:]
        return text[:i] + " " + text[i:]
    return text + " "


def meaning_edit(text: str, vocabulary: list[str], rng: np.random.Generator) -> str:
    """One edit that changes the meaning: two neighbouring words swapped, a word replaced by another word of the
    language, or a word dropped."""
    words = list(_WORD.finditer(text))
    if len(words) < 2:
        return text + " " + vocabulary[int(rng.integers(0, len(vocabulary)))]
    kind = int(rng.integers(0, 3))
    i = int(rng.integers(0, len(words) - 1))
    a, b = words[i], words[i + 1]
    if kind == 0 and a.group() != b.group():
        return text[:a.start()] + b.group() + text[a.end():b.start()] + a.group() + text[b.end():]
    if kind == 1 or kind == 0:
        new = vocabulary[int(rng.integers(0, len(vocabulary)))]
        if new == a.group():
            new = new + new[-1]
        return text[:a.start()] + new + text[a.end():]
    return text[:a.start()] + text[b.start():]


def paraphrase_pairs(text: str, n: int, cfg: PairTasksConfig, rng: np.random.Generator):
    s = cfg.segment_bytes
    raw = text.encode("utf-8")
    vocabulary = sorted({w for w in _WORD.findall(text[:200_000]) if len(w) >= 3})
    if len(raw) < 8 * s or len(vocabulary) < 20:
        return None
    rows, labels = [], []
    for i in range(n):
        p = int(rng.integers(0, len(raw) - s + 1))
        a_text = raw[p:p + s].decode("utf-8", errors="ignore")
        b_text = a_text
        if i % 2 == 1:
            b_text = meaning_edit(b_text, vocabulary, rng)
        for _ in range(int(rng.integers(1, 4))):
            b_text = surface_edit(b_text, rng)
        a = encode(a_text)
        rows.append(_join(a, encode(b_text), cfg.width("paraphrase")))
        labels.append(1 if i % 2 == 0 else 0)
    return np.stack(rows), np.array(labels)


def build_pairs(task: str, texts: list[str], n: int, cfg: PairTasksConfig, seed: int):
    """(inputs (n, width) int64, labels (n,) int64) for one task, drawn evenly from the texts (one per language);
    None when no text is long enough."""
    rng = np.random.default_rng(seed)
    parts = []
    per = -(-n // max(1, len(texts)))
    for text in texts:
        if task == "paraphrase":
            got = paraphrase_pairs(text, per, cfg, rng)
        else:
            builder = coherence_pairs if task == "coherence" else reference_pairs
            got = builder(encode(text), per, cfg, rng)
        if got is not None:
            parts.append(got)
    if not parts:
        return None
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    order = rng.permutation(len(x))[:n]
    return x[order], y[order]


class PairTaskSampler:
    """The train pairs of each enabled task on the device, and a batch of each drawn there per step."""

    def __init__(self, cfg: PairTasksConfig, train_texts: list[str], device: torch.device, seed: int = 0,
                 rank: int = 0):
        self.cfg = cfg
        self.device = device
        self.pools: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for i, task in enumerate(cfg.enabled):
            built = build_pairs(task, train_texts, cfg.train_pairs, cfg, seed * 7919 + i)
            if built is None:
                raise ValueError(f"data.pair_tasks.{task}: no corpus is long enough to build its pairs "
                                 f"(need about {8 * cfg.segment_bytes} bytes of text in one language)")
            self.pools[task] = (torch.from_numpy(built[0]).to(device), torch.from_numpy(built[1]).float().to(device))
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed * 1_000_033 + rank + 17)

    def sample(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        out = {}
        for task, (x, y) in self.pools.items():
            idx = torch.randint(0, len(x), (self.cfg.batch_size,), device=self.device, generator=self.generator)
            out[task] = (x[idx], y[idx])
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        g = state["generator"]
        self.generator.set_state(g.cpu() if isinstance(g, torch.Tensor) else torch.as_tensor(g, dtype=torch.uint8))


def pair_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy and ROC AUC of one task's logits (chance: 0.5 for both)."""
    from sklearn.metrics import roc_auc_score

    y = labels.cpu().numpy().astype(int)
    score = logits.float().cpu().numpy()
    acc = float(((score > 0).astype(int) == y).mean())
    auc = float(roc_auc_score(y, score)) if len(set(y.tolist())) == 2 else float("nan")
    return {"acc": acc, "auc": auc}
