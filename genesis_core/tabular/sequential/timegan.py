"""TimeGAN (Yoon, Jarrett and van der Schaar, NeurIPS 2019) in torch, for the sequence generator `timegan`.

Five recurrent networks: an embedder and a recovery (an autoencoder into a latent sequence), a generator of
latent sequences from noise, a supervisor that predicts the next latent step, and a discriminator on latent
sequences. Three phases, as in the paper: (1) the autoencoder alone; (2) the supervisor on real latent
sequences; (3) all of them jointly: the generator against the discriminator on latent sequences, held to the
supervisor's step-ahead loss and to the first two moments of the data, the autoencoder kept accurate.

What the paper leaves to the user, here:
  - context columns (constant per sequence) and the length of each sequence, and the index's start, form one
    row per sequence, synthesised by the lab's Gaussian copula; the networks are conditioned on that row, so
    the context stays constant within a sequence and the sequence follows its context;
  - variable lengths: sequences are padded and every loss is masked to the real steps;
  - the index (a date or a step) becomes a channel of increments from its start;
  - numeric channels are scaled to [0, 1] (gaps filled along the sequence), the others one-hot;
  - the moment loss matches each step position's mean and spread across sequences too, not only the pooled
    ones (pooled moments are met by one mean course for every sequence);
  - the generator's noise has a part drawn once per sequence beside the paper's per-step noise: with per-step
    noise alone, short trainings on CPU give every sequence the same course.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genesis_core.registry import SEQUENCE_GENERATORS
from genesis_core.tabular.data.ingest import TableError
from genesis_core.tabular.sequential.generators import Progress, SequenceGenerator

MAX_STEPS = 500
SEQUENCE_NOISE = 8  # dimensions of the generator's noise that are constant along a sequence
LENGTH, START = "__length__", "__start__"


class _Codec:
    """Columns <-> a [0, 1] feature vector: numeric ones min-max scaled, the others one-hot."""

    def __init__(self, frame: pd.DataFrame, columns: list[str]):
        self.parts: list[dict[str, Any]] = []
        for c in columns:
            v = frame[c]
            if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v) and v.nunique() > 2:
                lo, hi = float(v.min()), float(v.max())
                self.parts.append({"column": c, "kind": "num", "lo": lo, "hi": hi if hi > lo else lo + 1.0,
                                   "decimals": _decimals(v.dropna().to_numpy(dtype=float))})
            else:
                cats = v.astype(str).value_counts().index.tolist()
                self.parts.append({"column": c, "kind": "cat", "categories": cats,
                                   "values": {str(x): x for x in v.dropna().unique().tolist()}})
        self.dim = sum(1 if p["kind"] == "num" else len(p["categories"]) for p in self.parts)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        cols = []
        for p in self.parts:
            v = frame[p["column"]]
            if p["kind"] == "num":
                x = v.astype(float).fillna(v.astype(float).median() if v.notna().any() else p["lo"]).to_numpy()
                cols.append(((x - p["lo"]) / (p["hi"] - p["lo"]))[:, None])
            else:
                idx = {c: i for i, c in enumerate(p["categories"])}
                codes = v.astype(str).map(idx).fillna(0).astype(int).to_numpy()
                cols.append(np.eye(len(p["categories"]))[codes])
        return np.concatenate(cols, axis=1).astype(np.float32) if cols else np.zeros((len(frame), 0), np.float32)

    def decode(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out, j = {}, 0
        for p in self.parts:
            if p["kind"] == "num":
                v = np.clip(x[:, j], 0, 1) * (p["hi"] - p["lo"]) + p["lo"]
                out[p["column"]] = np.round(v.astype(float), p["decimals"])
                j += 1
            else:
                k = len(p["categories"])
                names = np.array(p["categories"], dtype=object)[x[:, j:j + k].argmax(1)]
                out[p["column"]] = np.array([p["values"].get(n, n) for n in names], dtype=object)
                j += k
        return out

    def to_dict(self) -> dict:
        return {"parts": self.parts, "dim": self.dim}

    @classmethod
    def from_dict(cls, d: dict) -> _Codec:
        c = cls.__new__(cls)  # state only: no data to look at when loading
        c.parts, c.dim = d["parts"], d["dim"]
        return c


def _decimals(v: np.ndarray, most: int = 6) -> int:
    """The fewest decimals that write every value as it is (at most `most`)."""
    for d in range(most + 1):
        if np.allclose(v, np.round(v, d), rtol=0, atol=10.0 ** -(most + 2)):
            return d
    return most


def _index_values(series: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        return pd.to_datetime(series).astype("int64").to_numpy() / 86_400e9  # days
    return series.astype(float).to_numpy()


def _noise(n: int, steps: int, dim: int, generator=None):
    """The generator's input: uniform noise per step (as in the paper) beside Gaussian noise drawn once per
    sequence, so that whole sequences can differ (a warm year, a poor country) and not only their steps."""
    import torch

    per_step = torch.rand(n, steps, dim - SEQUENCE_NOISE, generator=generator)
    per_sequence = torch.randn(n, 1, SEQUENCE_NOISE, generator=generator).expand(-1, steps, -1)
    return torch.cat([per_step, per_sequence], -1)


def _moments(x, x_hat, m, dims: tuple[int, ...]):
    """|std and mean differences| of real and generated steps over `dims`: (0, 1) pools every step, as in the
    paper; (0,) matches each step position across sequences, which keeps short trainings from giving every
    sequence the same (mean) course."""
    w = m[..., None]
    n = w.sum(dims).clamp(min=1)
    mean_r, mean_f = (x * w).sum(dims) / n, (x_hat * w).sum(dims) / n
    std_r = (((x - mean_r.unsqueeze(0) if len(dims) == 1 else x - mean_r) ** 2) * w).sum(dims).div(n).add(1e-6).sqrt()
    std_f = (((x_hat - mean_f.unsqueeze(0) if len(dims) == 1 else x_hat - mean_f) ** 2) * w).sum(dims).div(n)
    std_f = std_f.add(1e-6).sqrt()
    return (std_f - std_r).abs().mean() + (mean_f - mean_r).abs().mean()


def _nets(x_dim: int, c_dim: int, z_dim: int, hidden: int, layers: int):
    import torch
    from torch import nn

    class Rnn(nn.Module):
        def __init__(self, d_in: int, d_out: int, sigmoid: bool):
            super().__init__()
            self.rnn = nn.GRU(d_in + c_dim, hidden, layers, batch_first=True)
            self.out = nn.Linear(hidden, d_out)
            self.sigmoid = sigmoid

        def forward(self, x, c):
            h, _ = self.rnn(torch.cat([x, c[:, None, :].expand(-1, x.shape[1], -1)], -1))
            y = self.out(h)
            return torch.sigmoid(y) if self.sigmoid else y

    return nn.ModuleDict({"embedder": Rnn(x_dim, hidden, True), "recovery": Rnn(hidden, x_dim, True),
                          "generator": Rnn(z_dim, hidden, True), "supervisor": Rnn(hidden, hidden, True),
                          "discriminator": Rnn(hidden, 1, False)})


@SEQUENCE_GENERATORS.register("timegan")
class TimeGANGenerator(SequenceGenerator):
    """TimeGAN; `epochs` passes over the sequences in each of the three phases. Options: hidden (24), layers
    (2), batch_size (64), lr (1e-3), gamma (1.0)."""

    name = "timegan"

    def _opt(self, name: str, default):
        return type(default)(self.options.get(name, default))

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The channels (gaps filled along their own sequence) and the index's increments, one row per step."""
        spec = self.fitted_spec
        feats = frame[self.channel_columns].copy()
        keys = frame[spec.key].to_numpy()
        for c in spec.numeric_channels:
            feats[c] = feats.groupby(keys, sort=False)[c].transform(lambda s: s.ffill().bfill())
        if spec.index:
            idx = _index_values(frame[spec.index], spec.index_kind)
            prev = pd.Series(idx).groupby(keys, sort=False).shift(1).to_numpy()
            feats["__delta__"] = np.where(np.isnan(prev), 0.0, idx - np.nan_to_num(prev))
        return feats

    def _arrays(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X [n, T, dim] padded, mask [n, T], lengths [n]) of the sorted frame."""
        spec = self.fitted_spec
        x = self.codec.encode(self._features(frame))
        groups = frame.groupby(spec.key, sort=False).indices
        lengths = np.array([len(v) for v in groups.values()])
        t = int(lengths.max())
        out = np.zeros((len(groups), t, x.shape[1]), np.float32)
        mask = np.zeros((len(groups), t), np.float32)
        for i, rows in enumerate(groups.values()):
            out[i, :len(rows)] = x[rows]
            mask[i, :len(rows)] = 1
        return out, mask, lengths

    def _context_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        spec = self.fitted_spec
        g = frame.groupby(spec.key, sort=False)
        ctx = g[spec.context].first().reset_index(drop=True) if spec.context else pd.DataFrame(index=range(g.ngroups))
        ctx[LENGTH] = g.size().to_numpy()
        if spec.index:
            ctx[START] = _index_values(g[spec.index].first(), spec.index_kind)
        return ctx

    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        import torch

        from genesis_core.tabular.data import schema as sch
        from genesis_core.tabular.single_table.base import make_generator

        spec = self.fitted_spec
        lengths = frame.groupby(spec.key, sort=False).size()
        if lengths.max() > MAX_STEPS:
            raise TableError(f"the longest sequence has {int(lengths.max())} steps; TimeGAN here takes up to "
                             f"{MAX_STEPS}: use par, or cut the sequences into windows.")
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.channel_columns = list(spec.channels)
        feats = self._features(frame)
        self.codec = _Codec(feats, list(feats.columns))
        x, mask, lens = self._arrays(frame)
        ctx = self._context_table(frame)
        progress(0, 4, f"TimeGAN: the per-sequence context ({', '.join(ctx.columns)}) by a Gaussian copula")
        self.context_gen = make_generator("gaussian_copula", seed=self.seed).fit(ctx, sch.infer_schema(ctx))
        self.ctx_codec = _Codec(ctx, list(ctx.columns))
        c = self.ctx_codec.encode(ctx)
        self.dims = {"x": x.shape[2], "c": c.shape[1], "z": x.shape[2] + SEQUENCE_NOISE, "hidden": self._opt("hidden", 24),
                     "layers": self._opt("layers", 2)}
        self.nets = _nets(self.dims["x"], self.dims["c"], self.dims["z"], self.dims["hidden"], self.dims["layers"])
        self.losses = self._train(torch.tensor(x), torch.tensor(mask), torch.tensor(c), rng, progress)

    def _train(self, X, M, C, rng, progress) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        n = len(X)
        bs = min(self._opt("batch_size", 64), n)
        iters = max(1, self.epochs * math.ceil(n / bs))
        lr, gamma = self._opt("lr", 1e-3), self._opt("gamma", 1.0)
        E, R, G, S, D = (self.nets[k] for k in ("embedder", "recovery", "generator", "supervisor", "discriminator"))

        def batch():
            i = torch.as_tensor(rng.choice(n, bs, replace=False))
            t = int(M[i].sum(1).max())
            return X[i, :t], M[i, :t], C[i]

        def mse(a, b, m):  # masked over steps
            return (((a - b) ** 2).mean(-1) * m).sum() / m.sum().clamp(min=1)

        def bce(logits, target, m):
            return (F.binary_cross_entropy_with_logits(logits.squeeze(-1), torch.full_like(m, target),
                                                       reduction="none") * m).sum() / m.sum().clamp(min=1)

        def noise(x):
            return _noise(x.shape[0], x.shape[1], self.dims["z"])

        opt_er = torch.optim.Adam([*E.parameters(), *R.parameters()], lr)
        opt_gs = torch.optim.Adam([*G.parameters(), *S.parameters()], lr)
        opt_d = torch.optim.Adam(D.parameters(), lr)
        losses: dict[str, float] = {}
        every = max(1, iters // 10)
        for it in range(iters):  # 1: the autoencoder
            x, m, c = batch()
            loss = mse(R(E(x, c), c), x, m)
            opt_er.zero_grad()
            loss.backward()
            opt_er.step()
            if it % every == 0 or it == iters - 1:
                losses["reconstruction"] = loss.item()
                progress(1 * (it + 1) / iters, 4, f"TimeGAN embedding {it + 1}/{iters}: reconstruction "
                                                  f"{loss.item():.4f}")
        for it in range(iters):  # 2: the supervisor on real latent sequences
            x, m, c = batch()
            with torch.no_grad():
                h = E(x, c)
            loss = mse(S(h, c)[:, :-1], h[:, 1:], m[:, 1:])
            opt_gs.zero_grad()
            loss.backward()
            opt_gs.step()
            if it % every == 0 or it == iters - 1:
                losses["supervised"] = loss.item()
                progress(1 + (it + 1) / iters, 4, f"TimeGAN supervisor {it + 1}/{iters}: step-ahead {loss.item():.4f}")
        for it in range(iters):  # 3: jointly
            for _ in range(2):
                x, m, c = batch()
                e_hat = G(noise(x), c)
                h_hat = S(e_hat, c)
                h = E(x, c)
                x_hat = R(h_hat, c)
                g_adv = bce(D(h_hat, c), 1.0, m) + gamma * bce(D(e_hat, c), 1.0, m)
                g_sup = mse(S(h, c)[:, :-1], h[:, 1:], m[:, 1:])
                g_mom = _moments(x, x_hat, m, (0, 1)) + _moments(x, x_hat, m, (0,))
                g_loss = g_adv + 100 * g_sup.add(1e-8).sqrt() + 100 * g_mom
                opt_gs.zero_grad()
                g_loss.backward()
                opt_gs.step()
                h = E(x, c)
                e_loss = 10 * mse(R(h, c), x, m).add(1e-8).sqrt() + 0.1 * mse(S(h, c)[:, :-1], h[:, 1:], m[:, 1:])
                opt_er.zero_grad()
                e_loss.backward()
                opt_er.step()
            x, m, c = batch()
            with torch.no_grad():
                e_hat = G(noise(x), c)
                h_hat, h = S(e_hat, c), E(x, c)
            d_loss = bce(D(h, c), 1.0, m) + bce(D(h_hat, c), 0.0, m) + gamma * bce(D(e_hat, c), 0.0, m)
            if d_loss.item() > 0.15:  # the paper's rule: the discriminator rests while it is winning
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
            if it % every == 0 or it == iters - 1:
                losses.update(generator=g_adv.item(), discriminator=d_loss.item(), moments=g_mom.item())
                progress(2 + 2 * (it + 1) / iters, 4, f"TimeGAN joint {it + 1}/{iters}: generator {g_adv.item():.3f}, "
                                                      f"discriminator {d_loss.item():.3f}, moments {g_mom.item():.4f}")
        return losses

    def _sample(self, sequences: int, seed: int) -> pd.DataFrame:
        import torch

        spec = self.fitted_spec
        ctx = self.context_gen.sample(sequences, seed=seed).reset_index(drop=True)
        lengths = np.clip(np.round(ctx[LENGTH].astype(float).to_numpy()), 2, self.max_len).astype(int)
        ctx[LENGTH] = lengths
        c = torch.tensor(self.ctx_codec.encode(ctx))
        z = _noise(sequences, int(lengths.max()), self.dims["z"], torch.Generator().manual_seed(seed))
        with torch.no_grad():
            self.nets.eval()
            x = self.nets["recovery"](self.nets["supervisor"](self.nets["generator"](z, c), c), c).numpy()
        rows = []
        for i, n in enumerate(lengths):
            values = self.codec.decode(x[i, :n])
            part = pd.DataFrame({k: v for k, v in values.items() if k != "__delta__"})
            part[spec.key] = i
            for col in spec.context:
                part[col] = ctx[col].iloc[i]
            if spec.index:
                delta = np.maximum(np.asarray(values["__delta__"], dtype=float), 0.0)
                delta[0] = 0.0
                steps = float(ctx[START].iloc[i]) + np.cumsum(delta)
                if spec.index_kind == "datetime":
                    part[spec.index] = pd.to_datetime(np.round(steps * 86_400e9).astype("int64"))
                else:
                    part[spec.index] = np.round(steps) if self.index_integer else steps
            rows.append(part)
        out = pd.concat(rows, ignore_index=True)
        for col in self.columns:  # integer columns stay integers
            if self.dtypes.get(col, "").startswith("int") and col in out and col != spec.key:
                out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        return out

    def fit(self, frame, spec, progress=None):
        self.max_len = int(frame.groupby(spec.key, sort=False).size().max())
        self.index_integer = bool(spec.index_kind == "numerical"
                                  and np.allclose(frame[spec.index], np.round(frame[spec.index])))
        return super().fit(frame, spec, progress)

    def _save(self, folder: Path) -> dict:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in self.nets.state_dict().items()}, str(folder / "timegan.safetensors"))
        self.context_gen.save(folder / "context")
        return {"dims": self.dims, "codec": self.codec.to_dict(), "ctx_codec": self.ctx_codec.to_dict(),
                "channel_columns": self.channel_columns, "max_len": self.max_len,
                "index_integer": self.index_integer, "losses": self.losses}

    def _load(self, folder: Path, meta: dict) -> None:
        from safetensors.torch import load_file

        from genesis_core.tabular.single_table.base import TabularGenerator

        self.dims, self.channel_columns = meta["dims"], meta["channel_columns"]
        self.codec, self.ctx_codec = _Codec.from_dict(meta["codec"]), _Codec.from_dict(meta["ctx_codec"])
        self.max_len, self.index_integer, self.losses = meta["max_len"], meta["index_integer"], meta["losses"]
        self.nets = _nets(self.dims["x"], self.dims["c"], self.dims["z"], self.dims["hidden"], self.dims["layers"])
        self.nets.load_state_dict(load_file(str(folder / "timegan.safetensors")))
        self.context_gen = TabularGenerator.load(folder / "context")
