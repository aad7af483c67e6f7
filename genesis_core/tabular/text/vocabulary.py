"""The words a text model may write: a trie of the training column's words, so sampling never
invents a word (a guard against spelling out rare names).
"""

from __future__ import annotations

import re
from typing import Any

import torch

from genesis_core.lm.bytes import EOS

# ---------------------------------------------------------------------------------------------------
# words: sampling keeps to the training vocabulary


def _is_word_byte(b: int) -> bool:
    return 65 <= b <= 90 or 97 <= b <= 122 or b >= 128  # ASCII letters, and every byte of a non-ASCII character


class Vocabulary:
    """The words (runs of letters, as bytes) used by at least `min_rows` training rows, as a trie. While
    sampling, a word may only grow into one of them, and a word may only end where one ends: every word a
    text model writes is a word of the column, and a word only one row used (a name, a typo) never is."""

    def __init__(self, words: list[bytes], seen_bytes: bytes = bytes(range(256))):
        self.words, self.seen_bytes = sorted(set(words)), bytes(sorted(set(seen_bytes)))
        self.children: list[dict[int, int]] = [{}]
        self.terminal: list[bool] = [False]
        for w in self.words:
            node = 0
            for b in w:
                nxt = self.children[node].get(b)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][b] = nxt
                    self.children.append({})
                    self.terminal.append(False)
                node = nxt
            self.terminal[node] = True
        self._masks: dict[int, torch.Tensor] = {}
        self._between = torch.zeros(264, dtype=torch.bool)  # outside a word: a byte of the column, not a letter
        self._between[[b for b in self.seen_bytes if not _is_word_byte(b)]] = True
        self._between[EOS] = True

    @classmethod
    def from_texts(cls, texts: list[str], min_rows: int = 2) -> "Vocabulary":
        counts: dict[bytes, int] = {}
        seen: set[int] = set()
        for t in texts:
            raw = t.encode("utf-8")
            seen.update(raw)
            for w in set(re.findall(rb"[A-Za-z\x80-\xff]+", raw)):
                counts[w] = counts.get(w, 0) + 1
        return cls([w for w, n in counts.items() if n >= min_rows], bytes(sorted(seen)))

    def mask(self, node: int) -> torch.Tensor:
        """(264,) the tokens allowed next at `node` (0: between words)."""
        m = self._masks.get(node)
        if m is None:
            m = self._between.clone() if node == 0 or self.terminal[node] else torch.zeros(264, dtype=torch.bool)
            m[list(self.children[node])] = True
            self._masks[node] = m
        return m

    def step(self, node: int, b: int) -> int:
        """The node after byte `b` (0 once a word has ended)."""
        if b < 256 and _is_word_byte(b):
            return self.children[node].get(b, 0)
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {"words": [w.decode("latin-1") for w in self.words], "bytes": list(self.seen_bytes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Vocabulary":
        return cls([w.encode("latin-1") for w in d["words"]], bytes(int(b) for b in d["bytes"]))
