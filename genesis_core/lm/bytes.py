"""Byte-level (UTF-8) vocabulary: ids 0-255 are bytes, then a few special tokens. And word boundaries
for whole-word masking: words are runs of letters/digits between spaces and punctuation; in scripts
written without spaces (CJK) every character is a word of its own."""

from __future__ import annotations

import unicodedata

import numpy as np

PAD, MASK, BOS, EOS = 256, 257, 258, 259
VOCAB_SIZE = 264  # 260 used, padded to a multiple of 8
SPECIAL_NAMES = {PAD: "<pad>", MASK: "<mask>", BOS: "<bos>", EOS: "<eos>"}


def encode(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)


def record_ids(ids: np.ndarray) -> np.ndarray:
    """The record each byte belongs to, for a text of records joined by one blank line ("\n\n", as the corpora
    are built): a record starts after each "\n\n"; the separator belongs to the record it ends."""
    ids = np.asarray(ids)
    start = np.zeros(len(ids), dtype=np.int64)
    if len(ids) > 2:
        start[2:] = (ids[:-2] == 10) & (ids[1:-1] == 10) & (ids[2:] != 10)
    return np.cumsum(start)


def decode(ids, show_specials: bool = False) -> str:
    """Bytes back to text; invalid UTF-8 (a window cut mid-character) becomes U+FFFD."""
    out, run = [], bytearray()
    for i in (int(t) for t in ids):
        if i < 256:
            run.append(i)
            continue
        out.append(run.decode("utf-8", errors="replace"))
        run = bytearray()
        if show_specials:
            out.append("_" if i == MASK else SPECIAL_NAMES.get(i, ""))
    out.append(run.decode("utf-8", errors="replace"))
    return "".join(out)


def _is_cjk(ch: str) -> bool:
    if unicodedata.east_asian_width(ch) not in ("W", "F"):
        return False
    return unicodedata.category(ch).startswith(("L", "N"))


def word_ids(text: str) -> np.ndarray:
    """Per byte of text.encode('utf-8'): the index of the word it belongs to, or -1 for spaces and
    punctuation. Letters, digits and marks in a row form one word; each CJK character is one word."""
    ids = np.full(len(text.encode("utf-8")), -1, dtype=np.int64)
    pos, word, in_word = 0, -1, False
    for ch in text:
        n = len(ch.encode("utf-8"))
        cat = unicodedata.category(ch)
        if _is_cjk(ch):
            word += 1
            ids[pos:pos + n] = word
            in_word = False
        elif cat[0] in "LNM":
            if not in_word:
                word += 1
                in_word = True
            ids[pos:pos + n] = word
        else:
            in_word = False
        pos += n
    return ids
