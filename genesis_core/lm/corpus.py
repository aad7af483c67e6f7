"""Text corpora tagged with a language, split into train and held-out text per language.

Built in (offline after set-up): Debian's fortune-cookie packages in English, German, Spanish, Italian,
Polish, Czech, Russian and Chinese (`./workbench` installs them). Users add their own: text files or
folders, each tagged with a language code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from genesis_core.errors import WorkbenchError

FORTUNES = Path("/usr/share/games/fortunes")
# language -> fortune files or folders (relative to FORTUNES); English is the top-level collection
BUILTIN_SOURCES = {
    "en": ["fortunes", "wisdom", "literature", "computers", "people", "science", "humorists", "platitudes",
           "politics", "work", "education", "love", "men-women", "miscellaneous", "songs-poems", "riddles"],
    "de": ["de"], "es": ["es"], "it": ["it"], "pl": ["pl"], "cs": ["cs"], "ru": ["ru"],
    "zh": ["chinese", "tang300", "song100"],
}
BUILTIN_PACKAGES = {"en": "fortunes", "zh": "fortunes-zh"}
LANGUAGE_NAMES = {"en": "English", "de": "German", "es": "Spanish", "it": "Italian", "pl": "Polish",
                  "cs": "Czech", "ru": "Russian", "zh": "Chinese"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|.\x08")  # colour codes and overstrike (the "wisdom" file has some)
_BLANK = re.compile(r"\n[ \t]*\n\s*")


class CorpusError(WorkbenchError, ValueError):
    """A corpus that cannot be read: missing package or file, no text."""


@dataclass(frozen=True)
class LanguageText:
    language: str
    train: str
    held_out: str
    total_bytes: int = 0  # the corpus's size before the cap (0: not measured)
    cap_bytes: int = 0  # the cap it was read under

    @property
    def capped(self) -> str:
        """'' when every record was kept; else what the cap left out, in words (for the run's log)."""
        kept = len(self.train.encode("utf-8")) + len(self.held_out.encode("utf-8"))
        if not self.total_bytes or kept >= self.total_bytes - 4:
            return ""
        return (f"corpus {self.language}: {kept:,} of {self.total_bytes:,} bytes used (capped at {self.cap_bytes:,}; "
                "raise data.max_bytes_per_language or data.max_bytes_user_corpus)")


def _records(text: str) -> list[str]:
    """A fortune file's records (separated by lines holding only '%'), cleaned of terminal codes."""
    parts = re.split(r"\n%\n", _ANSI.sub("", text))
    # a blank line inside a fortune becomes a line break, so blank lines mark record boundaries only
    return [_BLANK.sub("\n", p.strip()) for p in parts if p.strip() and p.strip() != "%"]


def _read_files(paths: list[Path]) -> list[str]:
    records: list[str] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.suffix in (".dat", ".u8") or f.name.startswith("."):
                continue
            try:
                text = f.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # a few legacy fortune files are not UTF-8; they are left out
            records.extend(_records(text))
    return records


def _split(language: str, records: list[str], held_out_fraction: float, max_bytes: int, seed: int) -> LanguageText:
    if len(records) < 2:
        raise CorpusError(f"the {language} corpus has {len(records)} text records; at least 2 are needed.")
    order = np.random.default_rng(seed).permutation(len(records))
    records = [records[i] for i in order]
    kept, size = [], 0
    for r in records:
        if size >= max_bytes:
            break
        kept.append(r)
        size += len(r.encode("utf-8")) + 2
    n_held = max(1, int(round(len(kept) * held_out_fraction)))
    total = sum(len(r.encode("utf-8")) + 2 for r in records)
    return LanguageText(language, "\n\n".join(kept[n_held:]) + "\n\n", "\n\n".join(kept[:n_held]) + "\n\n",
                        total, max_bytes)


@lru_cache(maxsize=32)
def builtin_language(language: str, held_out_fraction: float = 0.05, max_bytes: int = 1_000_000,
                     seed: int = 0) -> LanguageText:
    if language not in BUILTIN_SOURCES:
        raise CorpusError(f"no built-in corpus for {language!r}; built in: {', '.join(BUILTIN_SOURCES)}.")
    paths = [FORTUNES / p for p in BUILTIN_SOURCES[language] if (FORTUNES / p).exists()]
    if not paths:
        package = BUILTIN_PACKAGES.get(language, f"fortunes-{language}")
        raise CorpusError(f"the built-in {LANGUAGE_NAMES[language]} corpus is missing: install Debian's "
                          f"{package} package (./workbench does it).")
    return _split(language, _read_files(paths), held_out_fraction, max_bytes, seed)


def user_language(language: str, paths: list[str], held_out_fraction: float = 0.05, max_bytes: int = 50_000_000,
                  seed: int = 0) -> LanguageText:
    """Text files or folders of the user's, tagged `language`; split by paragraphs (blank lines)."""
    texts = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.exists():
            raise CorpusError(f"{p} does not exist.")
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            try:
                texts.append(f.read_bytes().decode("utf-8"))
            except UnicodeDecodeError:
                raise CorpusError(f"{f.name} is not UTF-8 text.") from None
    records = [r.strip() for t in texts for r in re.split(r"\n\s*\n", t) if r.strip()]
    return _split(language, records, held_out_fraction, max_bytes, seed)
