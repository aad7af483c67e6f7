"""The device-resident loader: the whole tokenised corpus lives in one tensor on the training device;
batches are random windows drawn on the device (languages sampled by weight); masking for the masked-LM
objective happens on the device too. Nothing goes through Python per sample.

Masking curriculum: the mask rate moves linearly from `mask_rate_start` to `mask_rate_end`, and the
whole-word share from `wwm_share_start` to `wwm_share_end`, over `wwm_ramp_steps` batches. Of the masked
budget, the whole-word share picks whole words (every byte of a chosen word), the rest picks spans of
`span_length` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genesis_core.lm.bytes import MASK, encode, record_ids, word_ids

IGNORE = -100


@dataclass(frozen=True)
class MaskingSchedule:
    mask_rate_start: float = 0.15
    mask_rate_end: float = 0.15
    wwm_share_start: float = 0.0
    wwm_share_end: float = 0.5
    wwm_ramp_steps: int = 1000
    span_length: int = 3

    def at(self, step: int) -> tuple[float, float]:
        t = min(1.0, step / self.wwm_ramp_steps) if self.wwm_ramp_steps > 0 else 1.0
        return (self.mask_rate_start + t * (self.mask_rate_end - self.mask_rate_start),
                self.wwm_share_start + t * (self.wwm_share_end - self.wwm_share_start))


class DeviceCorpusLoader:
    """Random windows of `context + 1` tokens from one on-device tensor.

    causal: batches are (inputs, targets, language index), targets shifted by one.
    masked: (masked inputs, targets with IGNORE where not masked, language index).
    With `documents`, each batch also carries the record id of every input position (for document masking).
    Each DDP rank draws from its own generator stream (seed, rank), so ranks never repeat each other.
    """

    def __init__(self, texts: dict[str, str], context: int, batch_size: int, device: torch.device,
                 weights: dict[str, float] | None = None, objective: str = "causal",
                 masking: MaskingSchedule | None = None, seed: int = 0, rank: int = 0, documents: bool = False,
                 pairs: Any = None):
        self.languages = list(texts)
        self.context, self.batch_size, self.device = context, batch_size, device
        self.objective, self.masking = objective, masking or MaskingSchedule()
        tokens: list[np.ndarray] = []
        words: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        starts: list[int] = []
        lengths: list[int] = []
        offset = 0
        word_base = 0
        for lang in self.languages:
            ids = encode(texts[lang])
            if len(ids) < context + 2:
                raise ValueError(f"the {lang} text has {len(ids)} bytes; a window needs {context + 2}")
            wid = word_ids(texts[lang]) if objective == "masked" else np.zeros(0, dtype=np.int64)
            if objective == "masked":
                wid = np.where(wid >= 0, wid + word_base, -1)
                word_base = int(wid.max()) + 1
            tokens.append(ids)
            words.append(wid)
            if documents:  # record ids, unique across languages
                docs.append(record_ids(ids) + (int(docs[-1][-1]) + 1 if docs else 0))
            starts.append(offset)
            lengths.append(len(ids))
            offset += len(ids)
        self.tokens = torch.from_numpy(np.concatenate(tokens).astype(np.int16)).to(device)
        self.words = torch.from_numpy(np.concatenate(words).astype(np.int32)).to(device) if objective == "masked" else None
        self.docs = torch.from_numpy(np.concatenate(docs).astype(np.int32)).to(device) if documents else None
        self.starts = torch.tensor(starts, device=device)
        self.lengths = torch.tensor(lengths, device=device)
        w = weights or {}
        self.weights = torch.tensor([float(w.get(lang, 1.0)) for lang in self.languages], device=device)
        if (self.weights < 0).any() or self.weights.sum() <= 0:
            raise ValueError("language weights must be non-negative and not all zero")
        self.seed, self.rank = seed, rank
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed * 1_000_003 + rank)
        self.step = 0
        self._arange = torch.arange(context + 1, device=device)
        self.pairs = pairs  # a PairTaskSampler (lm/pair_tasks.py): each batch then ends with {task: (x, y)}

    # -- sampling --------------------------------------------------------------------------------
    def _windows(self) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.generator
        lang = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g)
        room = (self.lengths[lang] - self.context - 1).float()
        offset = self.starts[lang] + (torch.rand(self.batch_size, device=self.device, generator=g) * room).long()
        return offset[:, None] + self._arange, lang

    def mask(self, window: torch.Tensor, words: torch.Tensor, rate: float, wwm_share: float):
        """(inputs with MASK, targets with IGNORE elsewhere) for windows (B, T) and their word ids."""
        g, (b, t) = self.generator, window.shape
        u_span = torch.rand((b, t), device=self.device, generator=g)
        u_word = torch.rand((b, t), device=self.device, generator=g)
        span_budget = rate * (1 - wwm_share)
        starts = (u_span < span_budget / max(1, self.masking.span_length)).float()
        spans = torch.nn.functional.max_pool1d(
            torch.nn.functional.pad(starts[:, None], (self.masking.span_length - 1, 0)),
            self.masking.span_length, stride=1)[:, 0] > 0
        is_start = torch.ones_like(words, dtype=torch.bool)
        is_start[:, 1:] = words[:, 1:] != words[:, :-1]
        first = torch.where(is_start, torch.arange(t, device=self.device).expand(b, t), 0).cummax(dim=1).values
        chosen_word = (torch.gather(u_word, 1, first) < rate * wwm_share) & (words >= 0)
        masked = spans | chosen_word
        inputs = torch.where(masked, torch.full_like(window, MASK), window)
        targets = torch.where(masked, window, torch.full_like(window, IGNORE))
        return inputs, targets

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx, lang = self._windows()
        window = self.tokens[idx].long()
        self.step += 1
        docs = (self.docs[idx[:, :-1]],) if self.docs is not None else ()
        pairs = (self.pairs.sample(),) if self.pairs is not None else ()
        if self.objective == "causal":
            return window[:, :-1], window[:, 1:], lang, *docs, *pairs
        rate, share = self.masking.at(self.step - 1)
        if self.words is None:
            raise RuntimeError("the masked objective needs the corpus's word ids")
        inputs, targets = self.mask(window[:, :-1], self.words[idx[:, :-1]].long(), rate, share)
        return inputs, targets, lang, *docs, *pairs

    def current_masking(self) -> tuple[float, float]:
        return self.masking.at(max(0, self.step - 1))

    # -- resume ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {"step": self.step, "generator": self.generator.get_state()}
        if self.pairs is not None:
            state["pairs"] = self.pairs.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        if self.pairs is not None and "pairs" in state:
            self.pairs.load_state_dict(state["pairs"])
        self.generator.set_state(state["generator"].cpu() if isinstance(state["generator"], torch.Tensor)
                                 else torch.as_tensor(state["generator"], dtype=torch.uint8))
