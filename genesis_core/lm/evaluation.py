"""Quick go/no-go evaluation of a language-model checkpoint: bits per byte per language on held-out text
against the unigram-byte baseline, and a few samples."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from genesis_core.store.workspace import Workspace
from genesis_core.training.loading import load_model


@dataclass
class QuickEval:
    table: pd.DataFrame  # language, bpb, unigram_bpb, gain_bits
    go: bool
    reason: str
    step: int
    samples: str


def quick_eval(run_or_checkpoint: str | Path, workspace: Workspace | None = None, eval_bytes: int = 4096,
               margin_bits: float = 0.0, device: str = "cpu") -> QuickEval:
    """GO when every language's bits per byte is below its unigram baseline by more than `margin_bits`."""
    loaded = load_model(run_or_checkpoint, workspace, device=device)
    task = loaded.task
    task.config = replace(task.config, data=replace(task.config.data, eval_bytes=eval_bytes))
    rows = []
    for lang in task.languages:
        bpb, uni = task.bits_per_byte(loaded.model, lang), task.unigram_baseline(lang)
        rows.append({"language": lang, "bpb": bpb, "unigram_bpb": uni, "gain_bits": uni - bpb})
    table = pd.DataFrame(rows)
    losing = table[table["gain_bits"] <= margin_bits]["language"].tolist()
    go = not losing
    reason = (f"every language beats its unigram baseline by more than {margin_bits:g} bits per byte" if go
              else f"not better than the unigram baseline on: {', '.join(losing)}")
    return QuickEval(table, go, reason, int(loaded.meta.get("step", 0)), task.samples(loaded.model, new_bytes=80))
