"""A text column as training windows of bytes: each row's prefix (the values of the other columns)
then its text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from genesis_core.lm.bytes import BOS, EOS, PAD
from genesis_core.lm.loader import IGNORE

MISSING_BYTE = 0  # a missing cell is learned and sampled as this one byte
MAX_VALUE_CHARS = 24  # a prefix value longer than this is cut
MAX_PREFIX_LEVELS = 50  # columns with more distinct values than this (codes, free numbers aside) stay out


# ---------------------------------------------------------------------------------------------------
# the row prefix


def prefix_columns(frame: pd.DataFrame, candidates: list[str]) -> list[str]:
    """The columns worth conditioning a text on: numbers, and categories with at most MAX_PREFIX_LEVELS values
    (a unique code says nothing about the text and costs context)."""
    out = []
    for c in candidates:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) or s.dropna().nunique() <= MAX_PREFIX_LEVELS:
            out.append(c)
    return out


def _value_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "?"
    if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else f"{float(v):.3g}"
    return str(v).strip()[:MAX_VALUE_CHARS]


LENGTH_SUFFIX = " (length of the text)"


def length_column(column: str) -> str:
    """The hidden column the table model learns each text's length in (characters; 0: missing)."""
    return column + LENGTH_SUFFIX


def row_prefixes(frame: pd.DataFrame, columns: list[str], limit: int) -> list[bytes]:
    """Each row's conditioning prefix, "length=212 | a=1 | b=x" in UTF-8, cut to `limit` bytes."""
    if not columns:
        return [b""] * len(frame)
    names = ["length" if c.endswith(LENGTH_SUFFIX) else c for c in columns]
    parts = [frame[c].map(_value_text) for c in columns]
    return [" | ".join(f"{c}={v}" for c, v in zip(names, row)).encode("utf-8")[:limit]
            for row in zip(*parts)]


def text_bytes(value: Any) -> bytes:
    if value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value):
        return bytes([MISSING_BYTE])
    return str(value).replace("\x00", "").encode("utf-8")


# ---------------------------------------------------------------------------------------------------
# training windows


def training_windows(prefixes: list[bytes], texts: list[bytes], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each (N, context): one window per row (prefix, <bos>, text, <eos>) and, for a row
    longer than the context, windows that continue its text after half a context of it. The loss is on the
    text and <eos> only (targets IGNORE elsewhere)."""
    half = context // 2
    xs, ys = [], []
    for prefix, text in zip(prefixes, texts):
        seq = list(prefix) + [BOS] + list(text) + [EOS]
        first = len(prefix) + 1  # the first position whose target is text
        windows = [(0, first)]
        start = context + 1 - half  # where sampling starts again when its context is full
        while len(seq) > context + 1 and start + half <= len(seq) - 1:  # continuation windows
            windows.append((start, start + half))
            start += half
        for begin, learn_from in windows:
            chunk = seq[begin:begin + context + 1]
            x = np.full(context, PAD, dtype=np.int64)
            y = np.full(context, IGNORE, dtype=np.int64)
            x[:len(chunk) - 1] = chunk[:-1]
            y[:len(chunk) - 1] = chunk[1:]
            y[:max(learn_from - begin - 1, 0)] = IGNORE
            xs.append(x)
            ys.append(y)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))
