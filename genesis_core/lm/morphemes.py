"""Sub-morphemic evaluation (seed 002): does the byte model know a language's suffixes as units it can put on a
stem it never saw them on?

For each language, pseudo-words are built from known stems (frequent words of the model's own training text)
and known inflectional or derivational suffixes, keeping only combinations that never occur in that text
(`walk` + `ness` when "walkness" is not there). Each pseudo-word follows a held-out context, and the model's
bits for the suffix and the word end (the suffix's bytes and the space after them) are compared with its bits
for a control: a string of the same number of characters drawn from the language's letters at their
frequency in the text, never a suffix and never making a known word. Stems come from below the 100 most frequent
words (mostly function words).

    bits_suffix    mean -log2 p(suffix + " " | context, stem), bits per suffix
    bits_control   the same for the control strings
    gain_bits      bits_control - bits_suffix: how much more the model expects the real suffix (> 0: it does)

The same figures under a byte trigram model fitted on the same training text stand beside them as the
baseline: a model that only knows which letters follow which. Causal models only (a masked model has no
left-to-right probability to read off).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from genesis_core.lm.bytes import encode

# productive suffixes per language (inflection and derivation); Chinese: the few bound suffix characters
SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("s", "ed", "ing", "er", "ly", "ness", "less", "ful", "able"),
    "de": ("en", "er", "ung", "heit", "keit", "lich", "chen", "isch", "te"),
    "es": ("os", "as", "ado", "ando", "mente", "ción", "ito", "ita", "ero"),
    "it": ("i", "ato", "ando", "mente", "zione", "ino", "etto", "ista", "oso"),
    "pl": ("ami", "ach", "ość", "owy", "anie", "ski", "ek", "ka", "ny"),
    "cs": ("ami", "ách", "ost", "ový", "ení", "ský", "ek", "ka", "ný"),
    "ru": ("ами", "ах", "ость", "ный", "ение", "ский", "ок", "ка", "ить"),
    "zh": ("们", "子", "性", "化", "者", "家"),
}
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
SKIP_TOP = 100  # the most frequent words (mostly function words) are not used as stems


@dataclass(frozen=True)
class Item:
    language: str
    context: str
    stem: str
    suffix: str
    control: str


def _stems(language: str, train: str) -> pd.Series:
    """Candidate stems with their counts: lower-case words of 4-9 letters; in Chinese, two-character runs."""
    if language == "zh":
        chars = "".join(c for c in train if "\u4e00" <= c <= "\u9fff")
        words = [chars[i:i + 2] for i in range(0, len(chars) - 1, 2)]
    else:
        words = [w for w in _LETTERS.findall(train) if 4 <= len(w) <= 9 and w.islower()]
    return pd.Series(words).value_counts() if words else pd.Series(dtype=int)


def _contexts(language: str, held_out: str) -> list[str]:
    """Held-out lines of 30+ characters, cut after their last space (spaced scripts), to put before a stem."""
    lines = [ln.strip() for ln in held_out.splitlines() if len(ln.strip()) >= 30]
    if language == "zh":
        return lines
    return [ln[: ln.rindex(" ")] for ln in lines if " " in ln]


def build_items(language: str, train: str, held_out: str, n_stems: int = 40, seed: int = 0) -> list[Item]:
    """Pseudo-words of one language: up to `n_stems` known stems x its suffixes, novel combinations only, each
    after a held-out context, with a control string of the suffix's length."""
    suffixes = SUFFIXES.get(language)
    if not suffixes:
        raise ValueError(f"no suffix list for language {language!r}; known: {', '.join(SUFFIXES)}")
    rng = np.random.default_rng(seed)
    counts = _stems(language, train)
    band = counts.index[SKIP_TOP: SKIP_TOP + n_stems * 4]  # below the function words
    stems = [w for w in band if not any(w.endswith(s) for s in suffixes)][: n_stems * 2]
    rng.shuffle(stems)
    letter_counts = pd.Series(list("".join(counts.index[:2000]))).value_counts()
    letters, freq = letter_counts.index.to_numpy(), (letter_counts / letter_counts.sum()).to_numpy()
    contexts = _contexts(language, held_out)
    if len(stems) < 2 or len(letters) < 5 or not contexts:
        raise ValueError(f"the {language} text is too short to build pseudo-words from (stems, letters, contexts)")
    seen = set(_LETTERS.findall(train)) if language != "zh" else None

    def occurs(word: str) -> bool:
        return word in seen if seen is not None else word in train

    items: list[Item] = []
    for stem in stems:
        if len({it.stem for it in items}) >= n_stems:
            break
        for suffix in suffixes:
            if occurs(stem + suffix):
                continue
            control = suffix
            for _ in range(100):  # a string of the suffix's length that is no suffix and makes no known word
                if control != suffix and control not in suffixes and not occurs(stem + control):
                    break
                control = "".join(rng.choice(letters, size=len(suffix), p=freq))  # letters at their frequency
            items.append(Item(language, contexts[int(rng.integers(0, len(contexts)))], stem, suffix, control))
    return items


def _sequences(items: list[Item], which: str, width: int, word_end: bool) -> tuple[torch.Tensor, list[int]]:
    """(N, width) byte windows ending with stem + suffix (or control) + " ", and the target lengths in bytes."""
    rows, targets = [], []
    for it in items:
        end = (it.suffix if which == "suffix" else it.control) + (" " if word_end else "")
        head = encode(it.context + (" " if word_end else "") + it.stem)
        tail = encode(end)
        seq = np.concatenate([head, tail])[-width:]
        if len(seq) < width:  # a short context: repeat it on the left
            seq = np.concatenate([np.resize(head, width - len(seq)), seq])
        rows.append(seq)
        targets.append(len(tail))
    return torch.from_numpy(np.stack(rows)), targets


@torch.no_grad()
def model_bits(model, windows: torch.Tensor, targets: list[int], device: torch.device) -> np.ndarray:
    """Bits the causal model gives the last `targets[i]` bytes of each window."""
    out = []
    for start in range(0, len(windows), 64):
        chunk = windows[start:start + 64].to(device)
        logp = F.log_softmax(model(chunk[:, :-1]).float()[..., :256], -1)
        tok = logp.gather(-1, chunk[:, 1:, None]).squeeze(-1).cpu().numpy()
        for row, n in zip(tok, targets[start:start + 64]):
            out.append(-row[-n:].sum() / math.log(2))
    return np.array(out)


class ByteTrigram:
    """Interpolated byte trigram (add-one at each order; weights 0.6 / 0.3 / 0.1), the baseline."""

    def __init__(self, text: str):
        ids = encode(text)
        self.uni = np.bincount(ids, minlength=256).astype(np.float64) + 1
        self.uni /= self.uni.sum()
        bi = ids[:-1] * 256 + ids[1:]
        tri = (ids[:-2] * 256 + ids[1:-1]) * 256 + ids[2:]
        self.bi = dict(zip(*np.unique(bi, return_counts=True)))
        self.tri = dict(zip(*np.unique(tri, return_counts=True)))
        self.ctx1 = np.bincount(ids[:-1], minlength=256).astype(np.float64)
        self.ctx2 = dict(zip(*np.unique(ids[:-2] * 256 + ids[1:-1], return_counts=True)))

    def bits(self, seq: np.ndarray, n: int) -> float:
        total = 0.0
        for i in range(len(seq) - n, len(seq)):
            a, b, c = int(seq[i - 2]), int(seq[i - 1]), int(seq[i])
            p1 = self.uni[c]
            p2 = (self.bi.get(b * 256 + c, 0) + 1) / (self.ctx1[b] + 256)
            p3 = (self.tri.get((a * 256 + b) * 256 + c, 0) + 1) / (self.ctx2.get(a * 256 + b, 0) + 256)
            total -= math.log2(0.6 * p3 + 0.3 * p2 + 0.1 * p1)
        return total


def evaluate(model, texts: dict, device: torch.device, context: int, n_stems: int = 40, seed: int = 0,
             languages: list[str] | None = None) -> pd.DataFrame:
    """One row per language and suffix: items, the model's bits for suffixes and controls, its gain, and the
    trigram baseline's gain. `texts`: language -> LanguageText (the run's own train / held-out split)."""
    rows = []
    for lang in languages or list(texts):
        if lang not in SUFFIXES:
            continue
        t = texts[lang]
        items = build_items(lang, t.train, t.held_out, n_stems, seed)
        if not items:
            continue
        trigram = ByteTrigram(t.train[:2_000_000])
        spaced = lang != "zh"
        real_x, real_n = _sequences(items, "suffix", context + 1, spaced)
        ctrl_x, ctrl_n = _sequences(items, "control", context + 1, spaced)
        real = model_bits(model, real_x, real_n, device)
        ctrl = model_bits(model, ctrl_x, ctrl_n, device)
        tri_real = np.array([trigram.bits(x.numpy(), n) for x, n in zip(real_x, real_n)])
        tri_ctrl = np.array([trigram.bits(x.numpy(), n) for x, n in zip(ctrl_x, ctrl_n)])
        frame = pd.DataFrame({"suffix": [i.suffix for i in items], "real": real, "ctrl": ctrl,
                              "tri_real": tri_real, "tri_ctrl": tri_ctrl,
                              "nbytes": [len(i.suffix.encode()) + spaced for i in items]})
        for suffix, g in frame.groupby("suffix", sort=False):
            rows.append({"language": lang, "suffix": suffix, "items": len(g),
                         "bits_suffix": g["real"].mean(), "bits_control": g["ctrl"].mean(),
                         "gain_bits": (g["ctrl"] - g["real"]).mean(),
                         "bits_per_suffix_byte": (g["real"] / g["nbytes"]).mean(),
                         "trigram_gain_bits": (g["tri_ctrl"] - g["tri_real"]).mean(),
                         "model_prefers_suffix": float((g["real"] < g["ctrl"]).mean())})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per language: pseudo-words, mean gain of the model and of the trigram, the share of pseudo-words where the
    model prefers the real suffix, and mean bits per suffix byte."""
    if table.empty:
        return pd.DataFrame(columns=["language", "items", "gain_bits", "trigram_gain_bits", "model_prefers_suffix",
                                     "bits_per_suffix_byte"])
    w = table["items"]

    def weighted(col):
        return (table[col] * w).groupby(table["language"], sort=False).sum() / w.groupby(table["language"], sort=False).sum()

    out = pd.DataFrame({"items": w.groupby(table["language"], sort=False).sum(), "gain_bits": weighted("gain_bits"),
                        "trigram_gain_bits": weighted("trigram_gain_bits"),
                        "model_prefers_suffix": weighted("model_prefers_suffix"),
                        "bits_per_suffix_byte": weighted("bits_per_suffix_byte")})
    return out.reset_index().rename(columns={"index": "language"})


def morpheme_eval(run_or_checkpoint, workspace=None, n_stems: int = 40, seed: int = 0,
                  languages: list[str] | None = None, device: str = "cpu") -> tuple[pd.DataFrame, int]:
    """(per-suffix table, checkpoint step) of a causal language-model run, cached by checkpoint hash: a cached
    result is read without loading the model or its corpora."""
    from genesis_core.store import checkpoint as ckpt
    from genesis_core.store.cache import ResultCache, cache_key
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.loading import load_model, resolve_checkpoint

    ws = workspace or Workspace()
    path = resolve_checkpoint(run_or_checkpoint, ws)
    meta = ckpt.read_meta(path)
    if (meta.get("objective") or (meta.get("config") or {}).get("objective", "causal")) != "causal":
        raise ValueError("the sub-morphemic evaluation needs a causal model; this one is a masked LM")
    cache = ResultCache(ws.cache_dir)
    key = cache_key("lm_morphemes", ckpt.checkpoint_hash(path),
                    {"stems": n_stems, "seed": seed, "languages": languages or []})

    def compute():
        loaded = load_model(path, ws, device=device)
        return evaluate(loaded.model.eval(), loaded.task.texts, loaded.task.device, loaded.config.model.context,
                        n_stems, seed, languages).to_dict("records")

    return pd.DataFrame(cache.get_or_compute(key, compute)), int(meta.get("step", 0))
