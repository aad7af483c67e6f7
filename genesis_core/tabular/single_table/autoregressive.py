"""A generator of the joint distribution: a column-autoregressive transformer over discretised columns, in the
spirit of TabularARGN (MOSTLY AI's engine). Where a Gaussian copula models each column and the pairs, this one
models p(x) = prod_i p(x_order(i) | the columns before it), so a classifier has the whole row to tell apart.

  tokens      a category (or true/false) is a token of its own (the 1,000 most frequent; rarer ones share one,
              drawn back as one of them by their frequency); a number with few distinct values is a token per
              value; any other number (and a date, as seconds) is two tokens: its quantile bin among 32, then its
              place among 32 sub-bins of that bin (about 1/1000 of its distribution); missing is a token too
  network     a small causal transformer: position i sees the values of the columns before it and the name of
              the column it predicts; one shared output layer, masked to the predicted column's tokens
  order       a random column order for every row while training, so any set of columns can be given and the
              others drawn from p(rest | given): that is how conditions are drawn, never filtered afterwards
  training    the shared Trainer (AdamW, warmup), 10% of the rows held out: the weights of the best held-out
              negative log-likelihood are kept, early stopping watches it (a model that starts to memorise rows
              loses on rows it never saw)

Numbers, categories, dates, missing values, point masses and constraints come back through the codec exactly as
for the other generators. Nothing is pickled: weights are safetensors, the tokeniser JSON.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Sequence, cast

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F


from genesis_core.registry import GENERATORS
from genesis_core.tabular.single_table.base import Progress, TabularGenerator
from genesis_core.training.callbacks import Callback
from genesis_core.training.resumable import TensorLoader
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask

BINS, SUB_BINS, EXACT_LEVELS, MAX_CATEGORIES = 32, 32, 64, 1000


# -- tokens ------------------------------------------------------------------------------------------
@dataclass
class ColumnTokens:
    """How one typed column becomes one or two token positions, and back."""

    name: str
    kind: str  # numerical | datetime | categorical | boolean
    mode: str  # "exact" (a token per value) or "binned" (bin, then sub-bin) for numbers; "category" otherwise
    values: list = field(default_factory=list)  # exact numbers or categories, in token order (after "missing")
    edges: list[float] = field(default_factory=list)  # binned: the bins' edges
    pooled: list = field(default_factory=list)  # categories beyond MAX_CATEGORIES, drawn by their counts
    pooled_weights: list[float] = field(default_factory=list)
    missing: bool = True  # whether the training rows had missing values here (if not, sampling never draws one)

    @property
    def sizes(self) -> list[int]:
        if self.mode == "binned":
            return [len(self.edges) - 1 + 1, SUB_BINS]  # +1: missing
        return [len(self.values) + 1 + (1 if self.pooled else 0)]

    @classmethod
    def fit(cls, name: str, kind: str, s: pd.Series) -> ColumnTokens:
        if kind in ("numerical", "datetime"):
            x = _as_numbers(s, kind)
            present = x[~np.isnan(x)]
            missing = bool(len(present) < len(x))
            levels = np.unique(present)
            if len(levels) <= EXACT_LEVELS:
                return cls(name, kind, "exact", values=[float(v) for v in levels], missing=missing)
            edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)))
            return cls(name, kind, "binned", edges=[float(e) for e in edges], missing=missing)
        text = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        counts = text.dropna().value_counts()
        keep, rest = counts.index[:MAX_CATEGORIES], counts.iloc[MAX_CATEGORIES:]
        return cls(name, kind, "category", values=[str(v) for v in keep], pooled=[str(v) for v in rest.index],
                   pooled_weights=[float(w) for w in rest.to_numpy() / max(rest.sum(), 1)],
                   missing=bool(text.isna().any()))

    def encode(self, s: pd.Series, rng: np.random.Generator) -> list[np.ndarray]:
        if self.mode == "category":
            index = {v: i + 1 for i, v in enumerate(self.values)}
            other = len(self.values) + 1
            text = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            return [np.array([0 if v is None else index.get(v, other) for v in text], dtype=np.int64)]
        x = _as_numbers(s, self.kind)
        missing = np.isnan(x)
        if self.mode == "exact":
            levels = np.asarray(self.values)
            tok = np.searchsorted(levels, np.where(missing, levels[0] if len(levels) else 0, x)).clip(0, len(levels) - 1)
            return [np.where(missing, 0, tok + 1).astype(np.int64)]
        edges = np.asarray(self.edges)
        filled = np.where(missing, edges[0], x).clip(edges[0], edges[-1])
        b = np.searchsorted(edges, filled, side="right").clip(1, len(edges) - 1) - 1
        lo, hi = edges[b], edges[b + 1]
        frac = np.where(hi > lo, (filled - lo) / np.where(hi > lo, hi - lo, 1), rng.random(len(x)))
        sub = np.floor(frac * SUB_BINS).clip(0, SUB_BINS - 1)
        return [np.where(missing, 0, b + 1).astype(np.int64), np.where(missing, 0, sub).astype(np.int64)]

    def decode(self, tokens: list[np.ndarray], rng: np.random.Generator) -> pd.Series:
        t = tokens[0]
        if self.mode == "category":
            values = np.array([None, *self.values, None], dtype=object)
            out = values[t]
            other = t == len(self.values) + 1
            if other.any() and self.pooled:
                out[other] = rng.choice(np.array(self.pooled, dtype=object), int(other.sum()), p=self.pooled_weights)
            if self.kind == "boolean":
                out = np.array([None if v is None else v == "True" for v in out], dtype=object)
            return pd.Series(out, dtype=object)
        if self.mode == "exact":
            levels = np.asarray([np.nan, *self.values], dtype=float)
            x = levels[t]
        else:
            edges = np.asarray(self.edges)
            b = (t - 1).clip(0, len(edges) - 2)
            lo, hi = edges[b], edges[b + 1]
            x = lo + (tokens[1] + rng.random(len(t))) / SUB_BINS * (hi - lo)
            x[t == 0] = np.nan
        if self.kind == "datetime":
            return pd.Series(pd.to_datetime(np.where(np.isnan(x), np.nan, x * 1e9), errors="coerce"))
        return pd.Series(x, dtype=float)

    def condition_tokens(self, value: Any) -> list[int]:
        """The tokens of a condition value (a typed value: number, datetime, text, bool)."""
        return [int(t[0]) for t in self.encode(pd.Series([value]), np.random.default_rng(0))]


def _as_numbers(s: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(s):
        d = pd.to_datetime(s, errors="coerce")
        return np.where(d.isna(), np.nan, d.astype("int64") / 1e9).astype(float)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


# -- the network -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnARConfig:
    d_model: int = 64  # width of the transformer (its feed-forward layers are twice as wide)
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.1  # keeps a small table from being memorised
    batch_size: int = 0  # 0: a sixteenth of the rows, within 32..256 (a small table gets more, smaller steps)
    lr: float = 3e-3
    epochs: int = 100  # passes over the rows: at least 200 steps, at most max_steps (early stopping may end it sooner)
    max_steps: int = 2000
    eval_every: int = 50  # steps between held-out evaluations
    patience: int = 6  # evaluations without improvement before stopping
    time_limit_s: float = 0.0  # stop training after this many seconds, keeping the best weights so far (0: none)


class ColumnARNet(nn.Module):
    """Position i sees the values of the columns before it (in this row's order) and the name of the column it
    predicts; its output is that column's token distribution."""

    offsets: torch.Tensor  # a buffer
    allowed: torch.Tensor  # a buffer

    def __init__(self, sizes: list[int], group: list[int], cfg: ColumnARConfig):
        super().__init__()
        self.sizes, self.group = list(sizes), list(group)
        self.register_buffer("offsets", torch.tensor(np.r_[0, np.cumsum(sizes)[:-1]], dtype=torch.long))
        total, positions = int(sum(sizes)), len(sizes)
        owner = torch.repeat_interleave(torch.arange(positions), torch.tensor(sizes))
        self.register_buffer("allowed", owner[None, :] == torch.arange(positions)[:, None])  # (P, total)
        self.value = nn.Embedding(total + 1, cfg.d_model)  # + the start token
        self.position = nn.Embedding(positions, cfg.d_model)
        self.query = nn.Embedding(positions, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_head, 2 * cfg.d_model, cfg.dropout, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.body = nn.TransformerEncoder(layer, cfg.n_layer, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, total)
        self.start = total

    def forward(self, tokens: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """tokens (B, P) by position; order (B, P) positions in predicting order -> logits (B, P, total) where
        row [b, i] is the distribution of position order[b, i] given order[b, :i]."""
        b, p = order.shape
        seen = torch.gather(tokens, 1, order) + self.offsets[order]  # global token ids, in order
        inp = torch.cat([torch.full((b, 1), self.start, device=tokens.device), seen[:, :-1]], 1)
        prev = torch.cat([order[:, :1], order[:, :-1]], 1)
        h = self.value(inp) + self.query(order)
        h[:, 1:] = h[:, 1:] + self.position(prev[:, 1:])
        mask = torch.triu(torch.full((p, p), float("-inf"), device=tokens.device), 1)
        h = self.norm(self.body(h, mask=mask, is_causal=True))
        logits = self.head(h)
        return logits.masked_fill(~self.allowed[order], float("-inf"))

    def orders(self, batch: int, generator: torch.Generator | None = None, first: Sequence[int] = ()) -> torch.Tensor:
        """A random order of the columns for each row (a column's positions stay together, bin before sub-bin);
        `first`: columns (group ids) that come first, in this order."""
        groups = max(self.group) + 1
        keys = torch.rand(batch, groups, generator=generator)
        for rank, g in enumerate(first):
            keys[:, g] = -1.0 - (len(first) - rank)
        col_order = torch.argsort(keys, 1)
        members = [[i for i, g in enumerate(self.group) if g == col] for col in range(groups)]
        table = torch.tensor([m + [-1] * (2 - len(m)) for m in members])  # (groups, 2)
        pos = table[col_order].reshape(batch, -1)
        return pos[pos >= 0].reshape(batch, len(self.group)).to(self.offsets.device)


# -- training through the shared Trainer -------------------------------------------------------------
@dataclass(frozen=True)
class ColumnARTaskConfig(TaskConfigBase):
    task: str = "column_autoregressive"
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(tensorboard=False, tracker="none",
                                                                         device="cpu"))


class ColumnARTask(TrainingTask):
    """One table's tokens as a TrainingTask: cross-entropy of every position given the ones before it, in a new
    random column order for every row of every batch; held-out rows score the negative log-likelihood."""

    config_cls = ColumnARTaskConfig

    def __init__(self, config, device, fit: torch.Tensor, held_out: torch.Tensor, sizes, group, net: ColumnARConfig):
        super().__init__(config, device)
        self.fit_tokens, self.held_out, self.sizes, self.group, self.net = fit, held_out, sizes, group, net
        self.gen = torch.Generator().manual_seed(config.trainer.seed)

    def build_model(self) -> ColumnARNet:
        return ColumnARNet(self.sizes, self.group, self.net).to(self.device)

    def build_loader(self, rank: int = 0, world_size: int = 1) -> TensorLoader:
        return TensorLoader((self.fit_tokens.to(self.device),), min(self.net.batch_size, len(self.fit_tokens)),
                            self.config.trainer.seed, rank, world_size)

    def nll(self, model: ColumnARNet, tokens: torch.Tensor) -> torch.Tensor:
        order = model.orders(len(tokens), self.gen).to(tokens.device)
        logits = model(tokens, order)
        target = torch.gather(tokens, 1, order) + model.offsets[order]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), reduction="sum") / len(tokens)

    def training_step(self, model, batch):
        (tokens,) = batch
        return self.nll(model, tokens), {}

    @torch.no_grad()
    def evaluate(self, model) -> dict[str, float]:
        if not len(self.held_out):
            return {}
        return {"held_out_nll": float(self.nll(model, self.held_out.to(self.device)))}


class _KeepBest(Callback):
    """The weights of the best held-out NLL, in memory; a cancel becomes a stop between steps."""

    def __init__(self, progress: Progress, stop, total: int, time_limit_s: float = 0.0):
        self.best, self.state, self.progress, self.stop, self.total = math.inf, None, progress, stop, total
        self.deadline = time.monotonic() + time_limit_s if time_limit_s > 0 else math.inf

    def on_eval(self, trainer, metrics) -> None:
        value = metrics.get("eval/held_out_nll")
        if value is not None and value < self.best:
            self.best, self.state = value, copy.deepcopy(trainer.model.state_dict())

    def on_step_end(self, trainer, logs) -> None:
        if self.stop():
            trainer.request_stop("cancelled")
        elif time.monotonic() > self.deadline:
            trainer.request_stop("time limit")
        if trainer.step % 25 == 0:
            self.progress(trainer.step, self.total, f"column-autoregressive model: step {trainer.step} (at most "
                                                    f"{self.total}), held-out NLL {self.best:.3f} nats per row")


# -- the generator -----------------------------------------------------------------------------------
@GENERATORS.register("autoregressive")
class ColumnAutoregressiveGenerator(TabularGenerator):
    """A column-autoregressive transformer over discretised columns (TabularARGN's idea): models the joint
    distribution, draws rows given any set of column values."""

    name = "autoregressive"
    paced_by: ClassVar[str] = "time_limit_s"
    imputer: ClassVar[str] = "boosted"

    def _fit(self, frame: pd.DataFrame, progress: Progress, stop=lambda: False) -> None:
        from genesis_core.device import pick_device
        from genesis_core.training.trainer import Trainer

        cfg = ColumnARConfig(**{k: v for k, v in self.options.items() if k in ColumnARConfig.__dataclass_fields__})
        kinds = {c.name: c.kind for c in self.model_schema}
        self.tokens = [ColumnTokens.fit(c, kinds.get(c, "categorical"), frame[c]) for c in frame.columns]
        rng = np.random.default_rng(self.seed)
        matrix = self._encode(frame, rng)
        order = rng.permutation(len(matrix))
        n_val = max(1, int(round(0.1 * len(matrix)))) if len(matrix) >= 20 else 0
        held_out, fit = matrix[order[:n_val]], matrix[order[n_val:]]
        if not cfg.batch_size:  # 200 full-batch steps left a 300-row table under-fit (held-out NLL, detection)
            cfg = replace(cfg, batch_size=int(min(256, max(32, len(fit) // 16))))
        steps = min(cfg.max_steps, max(200, cfg.epochs * math.ceil(len(fit) / cfg.batch_size)))
        device = pick_device(self.options.get("device", "auto"))
        if device.type == "mps":  # masked attention on MPS is not worth the trouble at this size
            device = torch.device("cpu")
        config = ColumnARTaskConfig(trainer=TrainerConfig(
            steps=steps, lr=cfg.lr, seed=self.seed, device=str(device), tensorboard=False, tracker="none",
            log_every=25, eval_every=cfg.eval_every if n_val else 0, checkpoint_every=0, weight_decay=0.01,
            warmup_steps=min(100, steps // 10), early_stop_metric="eval/held_out_nll" if n_val else "",
            early_stop_patience=cfg.patience))
        task = ColumnARTask(config, device, torch.from_numpy(fit), torch.from_numpy(held_out), self.sizes,
                            self.group, cfg)
        keep = _KeepBest(progress, stop, steps, cfg.time_limit_s)
        progress(0, steps, "fitting a column-autoregressive model")
        trainer = Trainer(task, callbacks=[keep])
        result = trainer.fit()
        if result.reason == "cancelled":
            raise InterruptedError("cancelled")
        if keep.state is not None:
            trainer.model.load_state_dict(keep.state)
        self.model, self.net_config = cast(ColumnARNet, trainer.model.to("cpu").eval()), cfg
        self.fit_info = {"steps": result.step, "held_out_nll": None if keep.best == math.inf else round(keep.best, 4),
                         "stopped": result.reason}
        progress(steps, steps, f"column-autoregressive model fitted at step {result.step} ({result.reason}; held-out "
                               f"NLL {keep.best:.3f} nats per row)")

    @property
    def sizes(self) -> list[int]:
        return [s for t in self.tokens for s in t.sizes]

    @property
    def group(self) -> list[int]:
        return [i for i, t in enumerate(self.tokens) for _ in t.sizes]

    def _encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        cols = [part for t in self.tokens for part in t.encode(frame[t.name], rng)]
        return np.stack(cols, 1).astype(np.int64)

    @torch.no_grad()
    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        gen = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = self.model
        names = [t.name for t in self.tokens]
        first = [names.index(c) for c in conditions]
        tokens = torch.zeros(rows, len(self.group), dtype=torch.long)
        order = model.orders(rows, gen, first)
        given = 0
        for col, value in conditions.items():
            ids = self.tokens[names.index(col)].condition_tokens(value)
            for k, tok in enumerate(ids):
                tokens[:, [i for i, g in enumerate(self.group) if g == names.index(col)][k]] = tok
                given += 1
        # a column without missing values in training never draws one: its "missing" token's small learned
        # probability would otherwise put a few empty cells in every sample, which a classifier spots at once
        never = torch.zeros(int(sum(self.sizes)), dtype=torch.bool)
        at = 0
        for t in self.tokens:
            never[int(model.offsets[at])] = not t.missing
            at += len(t.sizes)
        for i in range(given, order.shape[1]):
            logits = model(tokens, order)[:, i].masked_fill(never, float("-inf"))
            pick = torch.multinomial(F.softmax(logits.float(), -1), 1, generator=gen)[:, 0]
            position = order[:, i]
            tokens[torch.arange(rows), position] = pick - model.offsets[position]
        out, at = {}, 0
        for t in self.tokens:
            parts = [tokens[:, at + k].numpy() for k in range(len(t.sizes))]
            at += len(t.sizes)
            out[t.name] = t.decode(parts, rng)
        frame = pd.DataFrame(out)
        for col, value in conditions.items():  # a binned number given: exactly the value asked for
            frame[col] = value
        return frame

    def _save(self, folder: Path) -> dict:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(folder / "model.safetensors"))
        return {"tokens": [t.__dict__ for t in self.tokens], "net": self.net_config.__dict__, "fit": self.fit_info}

    def _load(self, folder: Path, meta: dict) -> None:
        from safetensors.torch import load_file

        self.tokens = [ColumnTokens(**t) for t in meta["tokens"]]
        self.net_config = ColumnARConfig(**meta["net"])
        self.fit_info = dict(meta.get("fit") or {})
        self.model = ColumnARNet(self.sizes, self.group, self.net_config)
        self.model.load_state_dict(load_file(str(folder / "model.safetensors")))
        self.model.eval()

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"d_model": trial.suggest_categorical("d_model", [64, 96, 128]),
                "n_layer": trial.suggest_int("n_layer", 2, 4), "dropout": trial.suggest_float("dropout", 0.0, 0.3),
                "lr": trial.suggest_float("lr", 1e-3, 1e-2, log=True)}
