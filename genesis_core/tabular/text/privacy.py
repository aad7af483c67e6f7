"""What a text model must not give away, and how that is checked: runs of characters shared with the
training text (rolling hashes, position independent, from one cumulative sum: `CopyIndex` for the copy guard
while sampling, `RunIndex` for the report's figures), and personal data in written text (emails, phone
numbers, full names by Faker's name lists), replaced by fake values or removed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np


# ---------------------------------------------------------------------------------------------------
# copies: shared runs of characters, by rolling hashes


_BASE = np.uint64(1_000_003)


def _gram_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash of every run of n characters inside a text, the text each starts in), position independent:
    sum of c[i+k] * B^-k over k (mod 2^64), from one cumulative sum over all the texts."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    if not len(texts) or lengths.max(initial=0) < n:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
    inv = np.uint64(pow(int(_BASE), -1, 2**64))
    with np.errstate(over="ignore"):
        inv_pows = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes) - 1, inv, dtype=np.uint64)]))
        pows = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes) - 1, _BASE, dtype=np.uint64)]))
        s = np.concatenate([[np.uint64(0)], np.cumsum(codes * inv_pows)])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        owner = np.repeat(np.arange(len(texts)), lengths)
        ends = np.repeat(starts + lengths, lengths)
        pos = np.arange(len(codes))
        ok = pos + n <= ends
        pos = pos[ok]
        hashes = (s[pos + n] - s[pos]) * pows[pos]
    return hashes, owner[ok]


def _members(hashes: np.ndarray, sorted_reference: np.ndarray) -> np.ndarray:
    """Which of `hashes` are in `sorted_reference` (a sorted array: a binary search, no set built)."""
    if not len(sorted_reference):
        return np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_reference, hashes), len(sorted_reference) - 1)
    return sorted_reference[at] == hashes


class CopyIndex:
    """Every run of `n` characters of the training texts (as sorted hashes), to tell whether a new text repeats
    one."""

    def __init__(self, texts: list[str], n: int = 40, hashes: np.ndarray | None = None):
        self.n = n
        self.hashes = np.sort(_gram_hashes(texts, n)[0]) if hashes is None else np.sort(hashes)

    def copies(self, text: str) -> bool:
        if len(text) < self.n or not len(self.hashes):
            return False
        return bool(_members(_gram_hashes([text], self.n)[0], self.hashes).any())

    def save(self, path: Path) -> None:
        import io

        from genesis_core.store.files import atomic_write_bytes

        buf = io.BytesIO()
        h = self.hashes
        np.save(buf, h[np.r_[True, h[1:] != h[:-1]]] if len(h) else h, allow_pickle=False)  # sorted: drop repeats
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path, n: int) -> CopyIndex:
        return cls([], n, np.load(path, allow_pickle=False))


class RunIndex:
    """The training texts' runs of each length asked for, hashed and sorted once per length."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._sorted: dict[int, np.ndarray] = {}

    def sorted_hashes(self, n: int) -> np.ndarray:
        if n not in self._sorted:
            self._sorted[n] = np.sort(_gram_hashes(self.texts, n)[0])
        return self._sorted[n]

    def hits(self, texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(for each run of n characters in `texts`: found in the training texts?, the text it is in)."""
        h, owner = _gram_hashes(texts, n)
        return _members(h, self.sorted_hashes(n)), owner


def shared_run_lengths(train: list[str] | RunIndex, synth: list[str], grid=(10, 20, 40, 80, 160, 320)) -> np.ndarray:
    """(len(synth),) per synthetic text: the longest of `grid` such that it shares a run of that many
    characters with some training text (0: not even the shortest)."""
    index = train if isinstance(train, RunIndex) else RunIndex(train)
    best = np.zeros(len(synth), dtype=np.int64)
    for n in grid:
        found, owner = index.hits(synth, n)
        if not len(found) or not found.any():
            break
        best[np.unique(owner[found])] = n
    return best


def longest_shared_run(train: list[str] | RunIndex, synth: list[str]) -> int:
    """The longest run of characters any synthetic text shares with any training text (exact, by bisection)."""
    index = train if isinstance(train, RunIndex) else RunIndex(train)

    def shares(n: int) -> bool:
        found, _ = index.hits(synth, n)
        return bool(found.any())

    lo, hi = 0, max((len(t) for t in synth), default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if shares(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---------------------------------------------------------------------------------------------------
# personal data in written text

EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_IN_TEXT = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d ().-]{6,18}\d(?![\w.])")


def _names() -> tuple[set[str], set[str]]:
    from faker.providers.person.en_US import Provider

    return set(Provider.first_names), set(Provider.last_names)


def find_personal_data(text: str) -> list[tuple[int, int, str]]:
    """Spans (start, end, kind) of emails, phone numbers (at least 7 digits) and full names (a first name
    from Faker's en_US list followed by a last name from it, both capitalised)."""
    spans = [(m.start(), m.end(), "email") for m in EMAIL_IN_TEXT.finditer(text)]
    spans += [(m.start(), m.end(), "phone") for m in PHONE_IN_TEXT.finditer(text)
              if sum(ch.isdigit() for ch in m.group()) >= 7]
    first, last = _names()
    for m in re.finditer(r"\b(?=([A-Z][a-z]+) ([A-Z][a-z]+)\b)", text):  # overlapping: "Call John Smith"
        if m.group(1) in first and m.group(2) in last:
            spans.append((m.start(), m.start() + len(m.group(1)) + 1 + len(m.group(2)), "name"))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for s in spans:
        if merged and s[0] < merged[-1][1]:
            continue
        merged.append(s)
    return merged


def scrub_personal_data(texts: list[Any], action: str = "replace", seed: int = 0) -> tuple[list[Any], dict[str, int]]:
    """Personal data found in `texts` replaced by fake values (Faker, seeded) or removed (`action` "drop");
    returns (texts, how many of each kind)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    make = {"email": fake.email, "phone": fake.phone_number, "name": fake.name}
    counts = {"email": 0, "phone": 0, "name": 0}
    out = []
    for t in texts:
        if not isinstance(t, str):
            out.append(t)
            continue
        spans = find_personal_data(t)
        for start, end, kind in reversed(spans):
            counts[kind] += 1
            t = t[:start] + (make[kind]() if action == "replace" else "") + t[end:]
        out.append(t)
    return out, counts
