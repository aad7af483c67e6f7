"""Free-text columns, written by the LM lab's byte-level Llama trained with the shared Trainer.

Each text column gets its own small model, trained on that column with the row's other columns as a prefix:

    "score=great | price=12" <bos> "Tastes like real fruit ..." <eos>

so the text fits its row (a review that matches its rating). A missing cell is the single byte NUL, so the
model also learns how often the column is empty, row by row. A text longer than the context is learned in
windows: the first with its prefix, the rest continuing the text after half a context of it; sampling
does the same (when the context is full it starts again from the last half of the text), so long texts
keep their length.

Sampling runs every row of a batch in lockstep through a key/value cache (`LlamaModel.extend`): each row's
prefix is forced, then bytes are drawn until <eos>. A text that repeats `copy_chars` consecutive characters
of a training text (`CopyIndex`) is drawn again, and personal data the model wrote (emails, phone numbers,
full names) is replaced by fake values or removed, as for personal-data columns (`scrub_personal_data`).

The text model is not differentially private: with a private generator, text columns are left out.
"""


from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from genesis_core.lm.bytes import BOS, EOS
from genesis_core.lm.loader import IGNORE
from genesis_core.lm.model import LlamaConfig, LlamaModel
from genesis_core.tabular.text.vocabulary import Vocabulary
from genesis_core.tabular.text.windows import (
    MISSING_BYTE,
    length_column,
    prefix_columns,
    row_prefixes,
    text_bytes,
    training_windows,
)
from genesis_core.tabular.text.privacy import CopyIndex
from genesis_core.training.callbacks import Callback
from genesis_core.training.resumable import TensorLoader
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask

Progress = Callable[[int, int, str], None]


# ---------------------------------------------------------------------------------------------------
# the model and its training (the shared Trainer)


@dataclass(frozen=True)
class TextModelConfig:
    n_layer: int = 4
    d_model: int = 192
    n_head: int = 6
    n_kv_head: int = 3
    context: int = 256
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 30
    max_epochs: float = 12.0  # at most this many passes over the column's windows
    temperature: float = 0.9  # sampling
    top_k: int = 50


TEXT_SIZES = {  # the text model's sizes (TabularSynthesisConfig.text_size)
    "tiny": TextModelConfig(n_layer=2, d_model=64, n_head=4, n_kv_head=2, context=128, batch_size=16),
    "small": TextModelConfig(),
    "medium": TextModelConfig(n_layer=6, d_model=256, n_head=8, n_kv_head=4, context=256, lr=1.5e-3),
}


@dataclass(frozen=True)
class TextColumnTaskConfig(TaskConfigBase):
    task: str = "text_column"
    model: TextModelConfig = field(default_factory=TextModelConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(tensorboard=False, tracker="none",
                                                                         device="cpu", log_every=10, eval_every=0))


class TextColumnTask(TrainingTask):
    """One text column as a TrainingTask: the windows above, next-byte cross-entropy, warmup then cosine."""

    def __init__(self, config: TextColumnTaskConfig, device: torch.device, windows: tuple[torch.Tensor, torch.Tensor]):
        super().__init__(config, device)
        self.windows = windows

    def build_model(self) -> LlamaModel:
        return build_text_model(self.config.model, self.device)

    def build_loader(self, rank: int = 0, world_size: int = 1) -> TensorLoader:
        batch = min(self.config.model.batch_size, len(self.windows[0]))
        return TensorLoader(tuple(t.to(self.device) for t in self.windows), batch, self.config.trainer.seed,
                            rank, world_size)

    def build_scheduler(self, optimizer):
        warmup, total = self.config.model.warmup_steps, self.config.trainer.steps

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(total - warmup, 1))))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def training_step(self, model, batch):
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), y.view(-1), ignore_index=IGNORE)
        return loss, {}


def build_text_model(cfg: TextModelConfig, device: torch.device) -> LlamaModel:
    return LlamaModel(LlamaConfig(n_layer=cfg.n_layer, d_model=cfg.d_model, n_head=cfg.n_head,
                                  n_kv_head=cfg.n_kv_head, context=cfg.context), device=device)


class _TrainingProgress(Callback):
    """Reports steps with the loss and an ETA, and turns a cancel into a stop between steps."""

    def __init__(self, column: str, progress: Progress, stop: Callable[[], bool]):
        self.column, self.progress, self.stop = column, progress, stop
        self.t0, self.loss = time.monotonic(), float("nan")

    def on_step_end(self, trainer, logs) -> None:
        if logs:
            self.loss = logs["loss"]
        if self.stop():
            trainer.request_stop("cancelled")
        if trainer.step % 10 == 0 or trainer.step == trainer.total_steps:
            from tqdm import tqdm

            rate = trainer.step / max(time.monotonic() - self.t0, 1e-9)
            eta = tqdm.format_interval((trainer.total_steps - trainer.step) / max(rate, 1e-9))
            self.progress(trainer.step, trainer.total_steps,
                          f"text model for {self.column!r}: step {trainer.step}/{trainer.total_steps}, "
                          f"loss {self.loss:.3f} nats/byte, ETA {eta}")


def steps_for_budget(cfg: TextModelConfig, n_windows: int, budget_s: float, device: torch.device,
                     seed: int = 0) -> tuple[int, float]:
    """(steps, seconds per step): as many steps as `budget_s` allows on this machine (timed on 3 steps of a
    fresh model), at most `max_epochs` passes over the windows and at least 30 steps."""
    torch.manual_seed(seed)
    model = build_text_model(cfg, device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    batch = min(cfg.batch_size, n_windows)
    x = torch.randint(0, 256, (batch, cfg.context), device=device)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), x.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    per_step = float(np.median(times[1:]))
    most = int(cfg.max_epochs * n_windows / batch)
    return max(30, min(most, int(budget_s / per_step))), per_step


class TextColumnModel:
    """A fitted text column: its model, the prefix columns, the copy guard, and how to sample."""

    def __init__(self, column: str, prefix_cols: list[str], cfg: TextModelConfig, model: LlamaModel,
                 copy_index: CopyIndex, info: dict[str, Any], vocabulary: "Vocabulary | None" = None):
        self.column, self.prefix_cols, self.cfg, self.model = column, prefix_cols, cfg, model
        self.copy_index, self.info, self.vocabulary = copy_index, info, vocabulary
        self.length_column = length_column(column)

    @property
    def prefix_limit(self) -> int:
        return self.cfg.context // 4

    @classmethod
    def fit(cls, column: str, frame: pd.DataFrame, texts: pd.Series, prefix_candidates: list[str],
            cfg: TextModelConfig = TextModelConfig(), steps: int = 0, budget_s: float = 120.0, seed: int = 0,
            copy_chars: int = 40, device: str = "cpu", progress: Progress = lambda d, n, m: None,
            stop: Callable[[], bool] = lambda: False, vocabulary_rows: int = 2) -> TextColumnModel:
        """Train on `texts` (the column) with `frame`'s `prefix_candidates` as each row's prefix; `steps` 0: as
        many as `budget_s` allows."""
        from genesis_core.device import pick_device
        from genesis_core.training.trainer import Trainer

        dev = pick_device(device)
        cols = prefix_columns(frame, prefix_candidates)
        prefixes = row_prefixes(frame, cols, cfg.context // 4)
        encoded = [text_bytes(v) for v in texts]
        windows = training_windows(prefixes, encoded, cfg.context)
        per_step = float("nan")
        if steps <= 0:
            steps, per_step = steps_for_budget(cfg, len(windows[0]), budget_s, dev, seed)
        config = TextColumnTaskConfig(model=cfg, trainer=TrainerConfig(
            steps=steps, lr=cfg.lr, seed=seed, device=str(dev), tensorboard=False, tracker="none", log_every=10,
            eval_every=0, checkpoint_every=0, weight_decay=0.0))
        task = TextColumnTask(config, dev, windows)
        t0 = time.monotonic()
        watch = _TrainingProgress(column, progress, stop)
        trainer = Trainer(task, callbacks=[watch])
        result = trainer.fit()
        if result.reason == "cancelled":
            raise InterruptedError("cancelled")
        model = cast(LlamaModel, trainer.model.eval())
        present = [t.decode("utf-8") for t in encoded if t != bytes([MISSING_BYTE])]
        info = {"steps": steps, "windows": len(windows[0]), "seconds": round(time.monotonic() - t0, 1),
                "seconds_per_step": round(per_step, 4) if per_step == per_step else None,
                "final_loss_nats_per_byte": round(float(watch.loss), 4),
                "train_bytes": int(sum(len(t) for t in encoded)), "rows": len(encoded),
                "parameters": model.num_parameters(), "copy_chars": copy_chars,
                "differentially_private": False,
                "max_text_bytes": int(max((len(t) for t in encoded), default=1) * 1.25) + 16}
        vocabulary = Vocabulary.from_texts(present, vocabulary_rows) if vocabulary_rows else None
        info["vocabulary_words"] = len(vocabulary.words) if vocabulary else None
        info["vocabulary_rows"] = vocabulary_rows
        return cls(column, cols, cfg, model, CopyIndex(present, copy_chars), info, vocabulary)

    # -- sampling ---------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, frame: pd.DataFrame, seed: int = 0, batch_size: int = 256, max_bytes: int = 0,
               progress: Progress = lambda d, n, m: None, resample_rounds: int = 4) -> tuple[list[Any], dict]:
        """One text per row of `frame` (the synthetic rows, as written, with the length column); returns (texts,
        what happened: copies drawn again, left as they were). A row whose length is 0 is missing."""
        prefixes = row_prefixes(frame, [c for c in self.prefix_cols if c in frame.columns], self.prefix_limit)
        max_bytes = max_bytes or int(self.info.get("max_text_bytes", 4 * self.cfg.context))
        lengths = (pd.to_numeric(frame[self.length_column], errors="coerce").fillna(1).to_numpy()
                   if self.length_column in frame.columns else np.full(len(frame), np.nan))
        caps = np.where(np.isnan(lengths), max_bytes, np.minimum(max_bytes, 1.5 * lengths + 32)).astype(int)
        out: list[Any] = [None] * len(prefixes)
        todo = sorted((i for i in range(len(prefixes)) if not lengths[i] == 0), key=lambda i: caps[i])  # batches of
        # similar lengths: a batch runs as long as its longest text
        stats = {"redrawn_for_copying": 0, "copies_left": 0}
        g = torch.Generator(device="cpu").manual_seed(seed)
        for round_ in range(resample_rounds + 1):
            done = 0
            for start in range(0, len(todo), batch_size):
                rows = todo[start:start + batch_size]
                texts = self._sample_batch([prefixes[i] for i in rows], g, caps[rows])
                for i, t in zip(rows, texts):
                    out[i] = t
                done += len(rows)
                progress(done, len(todo), f"writing {self.column!r}: {done}/{len(todo)} texts"
                         + (f" (drawing {len(todo)} copies again, round {round_})" if round_ else ""))
            copied = [i for i in todo if isinstance(out[i], str) and self.copy_index.copies(out[i])]
            if round_ == 0:
                stats["redrawn_for_copying"] = len(copied)
            if not copied:
                break
            todo = copied
        else:
            stats["copies_left"] = len(todo)
        return out, stats

    def _sample_batch(self, prefixes: list[bytes], g: torch.Generator, caps: np.ndarray) -> list[Any]:
        """Texts for a batch of prefixes, every row at the same position: prefixes forced, then bytes drawn until
        <eos>. Finished rows leave the batch once they are half of it."""
        model, ctx = self.model, self.cfg.context
        device = model.embed.weight.device
        prompts = [list(p) + [BOS] for p in prefixes]
        longest = max(len(p) for p in prompts)
        forced = torch.full((len(prompts), longest), -1, dtype=torch.long)
        for i, p in enumerate(prompts):
            forced[i, :len(p)] = torch.tensor(p)
        texts: list[list[int]] = [[] for _ in prompts]
        rows = torch.arange(len(prompts))  # batch slot -> row
        alive = torch.ones(len(prompts), dtype=torch.bool)
        history: list[list[int]] = [[] for _ in prompts]  # what each slot was fed (for a restart)
        words = [0] * len(prompts)  # each slot's place in the vocabulary's trie (0: between words)
        vocab = self.vocabulary
        cache = model.new_cache(len(prompts))
        nxt, step = forced[:, 0].clone(), 0
        while alive.any():
            if alive.sum() * 2 <= len(rows) and len(rows) > 8:  # compact: drop the finished slots
                keep = torch.nonzero(alive).flatten()
                cache.keep(keep.to(device))
                rows, forced, nxt, alive = rows[keep], forced[keep], nxt[keep], alive[keep]
                history = [history[i] for i in keep.tolist()]
                words = [words[i] for i in keep.tolist()]
            for i in range(len(rows)):
                history[i].append(int(nxt[i]))
            if cache.length >= ctx:  # the context is full: start again from the last half of each text
                cache.reset()
                window = torch.tensor([h[-(ctx // 2):] for h in history])
                logits = model.extend(window.to(device), cache)[:, -1]
            else:
                logits = model.extend(nxt[:, None].to(device), cache)[:, -1]
            step += 1
            logits = _bytes_and_eos(logits.float().cpu() / max(self.cfg.temperature, 1e-5))
            if vocab is not None:
                allowed = torch.stack([vocab.mask(w) for w in words])
                prompt_done = (forced[:, step] < 0) if step < longest else torch.ones(len(rows), dtype=torch.bool)
                logits = torch.where(allowed | ~prompt_done[:, None], logits, torch.full_like(logits, float("-inf")))
            if self.cfg.top_k:
                kth = torch.topk(logits, self.cfg.top_k).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            empty = torch.tensor([not texts[int(r)] for r in rows])
            logits[:, EOS] = torch.where(empty, torch.full_like(logits[:, EOS], float("-inf")), logits[:, EOS])
            drawn = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(1)
            use_forced = forced[:, step] >= 0 if step < longest else torch.zeros(len(rows), dtype=torch.bool)
            nxt = torch.where(use_forced, forced[:, step] if step < longest else drawn, drawn)
            for i in torch.nonzero(alive & ~use_forced).flatten().tolist():
                t, row = int(nxt[i]), int(rows[i])
                if t == EOS or len(texts[row]) >= caps[row]:
                    alive[i] = False
                else:
                    texts[row].append(t)
                    if vocab is not None:
                        words[i] = vocab.step(words[i], t)
        return [_decode_text(t) for t in texts]

    # -- saving -----------------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        from genesis_core.store.checkpoint import save_checkpoint

        save_checkpoint(folder, self.model.state_dict(), {"kind": "text_column", "task": "text_column",
                                                         "model_class": "LlamaModel", "config": asdict(self.cfg)})
        self.copy_index.save(folder / "copy_index.npy")
        return {"column": self.column, "prefix_columns": self.prefix_cols, "model": asdict(self.cfg),
                "info": self.info, "folder": folder.name,
                "vocabulary": self.vocabulary.to_dict() if self.vocabulary else None}

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> TextColumnModel:
        from genesis_core.config import from_dict
        from genesis_core.store.checkpoint import load_weights

        cfg = from_dict(TextModelConfig, meta["model"])
        model = build_text_model(cfg, torch.device("cpu"))
        model.load_state_dict(load_weights(folder))
        index = CopyIndex.load(folder / "copy_index.npy", int(meta["info"]["copy_chars"]))
        vocabulary = Vocabulary.from_dict(meta["vocabulary"]) if meta.get("vocabulary") is not None else None
        return cls(meta["column"], list(meta["prefix_columns"]), cfg, model.eval(), index, dict(meta["info"]),
                   vocabulary)


def _bytes_and_eos(logits: torch.Tensor) -> torch.Tensor:
    """Bytes and <eos> are what a text is made of; <bos>, <pad> and <mask> are never drawn."""
    specials = torch.zeros(logits.shape[-1], dtype=torch.bool)
    specials[256:] = True
    specials[EOS] = False
    return logits.masked_fill(specials, float("-inf"))


def _decode_text(ids: list[int]) -> Any:
    raw = bytes(ids)
    if raw == bytes([MISSING_BYTE]) or not raw:
        return None
    return raw.replace(b"\x00", b"").decode("utf-8", errors="ignore")
