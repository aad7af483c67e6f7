"""A Llama-style byte model, in dependency order: RMSNorm, rotary embeddings, grouped-query attention,
SwiGLU MLP, Block, LlamaModel. `causal=False` makes it a bidirectional masked-LM encoder. An optional
MultiTaskLM wraps it with auxiliary heads (here: predicting the language of each sequence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.lm.attention import attention, choose_backend, document_mask
from genesis_core.lm.bytes import VOCAB_SIZE
from genesis_core.lm.fused import rms_norm, rotary, silu_mul
from genesis_core.registry import MODELS


@dataclass(frozen=True)
class LlamaConfig:
    n_layer: int = 4  # transformer blocks
    d_model: int = 256  # width
    n_head: int = 8  # query heads
    n_kv_head: int = 4  # key/value heads (grouped-query attention; = n_head is plain multi-head)
    ffn_mult: float = 8 / 3  # SwiGLU hidden = ffn_mult * d_model, rounded up to a multiple of 32
    context: int = 256  # tokens (bytes) per window
    rope_theta: float = 10000.0
    dropout: float = 0.0
    attention: Literal["auto", "flash", "sdpa", "math"] = "auto"
    aux_language_head: bool = False  # multi-task: also predict each window's language

    def __post_init__(self) -> None:
        if min(self.n_layer, self.d_model, self.n_head, self.n_kv_head, self.context) < 1:
            raise ValueError("n_layer, d_model, n_head, n_kv_head and context must be at least 1")
        if self.d_model % self.n_head or (self.d_model // self.n_head) % 2:
            raise ValueError("d_model must split into n_head heads of an even size")
        if self.n_head % self.n_kv_head:
            raise ValueError("n_head must be a multiple of n_kv_head")

    @property
    def ffn_hidden(self) -> int:
        return int(-(-int(self.ffn_mult * self.d_model) // 32) * 32)


class RMSNorm(nn.Module):
    """x * rsqrt(mean(x^2) + eps) * w, with a hand-written backward on the CPU (lm/fused.py)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps)


def rope_tables(head_dim: int, context: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables (T, D/2) for the rotate-half form: feature i pairs with feature i + D/2."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    angles = torch.outer(torch.arange(context).float(), inv)  # (T, D/2)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, T, D): rotate each pair (i, i + D/2) of features by the position's angle (rotate-half RoPE on
    cached half-width tables, forward and backward written in lm/fused.py)."""
    t = x.shape[-2]
    return rotary(x, cos[:t], sin[:t])


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig, backend: str, causal: bool):
        super().__init__()
        self.n_head, self.n_kv, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.d_model // cfg.n_head
        self.q = nn.Linear(cfg.d_model, cfg.n_head * self.head_dim, bias=False)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.n_kv_head * self.head_dim, bias=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.backend, self.causal = backend, causal

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                mask: torch.Tensor | None = None, cache: "KVCache | None" = None, layer: int = 0) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k, v = self.kv(x).split(self.n_kv * self.head_dim, dim=-1)
        k = k.view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        if cache is not None:  # incremental decoding: these t positions follow the cached ones
            start = cache.length
            cos, sin = cos[start:start + t], sin[start:start + t]
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            k, v = cache.append(layer, k, v)
            if t == 1:  # one new position sees every cached one: fold each key/value head's query heads into
                # the query axis, so grouped-query attention needs no copies of the keys
                g = self.n_head // self.n_kv
                y = F.scaled_dot_product_attention(q.view(b, self.n_kv, g, self.head_dim), k, v)
                y = y.reshape(b, self.n_head, 1, self.head_dim)
            elif start == 0:  # a prefill is causal on its own
                y = attention(q, k, v, self.causal, self.backend)
            else:
                allowed = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(start)
                y = attention(q, k, v, False, self.backend, allowed.expand(b, 1, t, start + t))
            return self.out(y.transpose(1, 2).reshape(b, t, -1))
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = attention(q, k, v, self.causal, self.backend, mask)
        return self.out(y.transpose(1, 2).reshape(b, t, -1))


class KVCache:
    """Keys and values of the positions decoded so far, per layer, preallocated for `capacity` positions of a
    batch of `batch` sequences (all at the same position: prompts are fed through it token by token or as one
    prefill)."""

    def __init__(self, cfg: "LlamaConfig", batch: int, capacity: int, device: torch.device, dtype: torch.dtype):
        head_dim = cfg.d_model // cfg.n_head
        shape = (cfg.n_layer, batch, cfg.n_kv_head, capacity, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.capacity, self.length, self._pending = capacity, 0, 0

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = k.shape[2]
        end = self.length + t
        if end > self.capacity:
            raise ValueError(f"the cache holds {self.capacity} positions; reset it before decoding more")
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        self._pending = t
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self) -> None:
        """Called once every layer has appended this step's positions."""
        self.length += self._pending
        self._pending = 0

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only these batch rows (finished sequences leave the batch)."""
        self.k, self.v = self.k[:, rows], self.v[:, rows]

    def reset(self) -> None:
        self.length, self._pending = 0, 0


class SwiGLU(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_up = nn.Linear(cfg.d_model, 2 * cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(silu_mul(self.gate_up(x)))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig, backend: str, causal: bool):
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(cfg.d_model), RMSNorm(cfg.d_model)
        self.attn, self.mlp = Attention(cfg, backend, causal), SwiGLU(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                mask: torch.Tensor | None = None, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cos, sin, mask, cache, layer))
        return x + self.drop(self.mlp(self.norm2(x)))


@MODELS.register("llama")
class LlamaModel(nn.Module):
    rope_cos: torch.Tensor  # a buffer
    rope_sin: torch.Tensor  # a buffer

    def __init__(self, cfg: LlamaConfig, causal: bool = True, device: torch.device | None = None,
                 n_languages: int = 0, pair_tasks: tuple[str, ...] = ()):
        super().__init__()
        self.cfg, self.causal = cfg, causal
        self.backend, self.backend_reason = choose_backend(device or torch.device("cpu"), cfg.attention)
        self.embed = nn.Embedding(VOCAB_SIZE, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, self.backend, causal) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, VOCAB_SIZE, bias=False)
        self.head.weight = self.embed.weight  # tied input and output embeddings
        self.language_head = nn.Linear(cfg.d_model, n_languages) if cfg.aux_language_head and n_languages else None
        # auxiliary pair tasks (lm/pair_tasks.py): one yes/no logit per task from the pooled hidden state
        self.pair_heads = nn.ModuleDict({t: nn.Linear(cfg.d_model, 1) for t in pair_tasks}) if pair_tasks else None
        cos, sin = rope_tables(cfg.d_model // cfg.n_head, cfg.context, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # scaled init of residual projections (GPT-2)
            if name.endswith(("out.weight", "down.weight")):
                nn.init.normal_(p, std=0.02 / (2 * cfg.n_layer) ** 0.5)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def hidden(self, idx: torch.Tensor, docs: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(idx)
        mask = document_mask(docs, self.causal) if docs is not None else None
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin, mask)
        return self.norm(x)

    def forward(self, idx: torch.Tensor, return_aux: bool = False, docs: torch.Tensor | None = None,
                pairs: dict[str, torch.Tensor] | None = None):
        """Logits (B, T, vocab); with return_aux, (logits, language logits or None). `docs` (B, T), each
        position's record id, keeps attention inside each record (document masking). With `pairs` ({task:
        (B_task, T_task) sequences}), also {task: (B_task,) logits} of the pair heads, in the same forward (one
        call per step, as DDP wants)."""
        h = self.hidden(idx, docs)
        if not return_aux:
            return self.head(h)
        lang = self.language_head(h.mean(1)) if self.language_head is not None else None
        if pairs is None:
            return self.head(h), lang
        return self.head(h), lang, {t: self.pair_logits(x, t) for t, x in pairs.items()}

    def pair_logits(self, idx: torch.Tensor, task: str) -> torch.Tensor:
        """One pair task's yes/no logit per sequence: from the last position (causal: it has seen A and B) or
        the mean of the positions (masked)."""
        if self.pair_heads is None or task not in self.pair_heads:
            raise ValueError(f"this model has no head for the pair task {task!r}")
        h = self.hidden(idx)
        pooled = h[:, -1] if self.causal else h.mean(1)
        return self.pair_heads[task](pooled).squeeze(-1)

    def new_cache(self, batch: int, capacity: int | None = None) -> KVCache:
        p = self.embed.weight
        return KVCache(self.cfg, batch, capacity or self.cfg.context, p.device, p.dtype)

    @torch.no_grad()
    def extend(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits (B, T, vocab) of `idx` (B, T), the positions that follow the ones in `cache` (a causal model's
        incremental decoding: each new position costs one position's work, not the whole window's)."""
        if not self.causal:
            raise ValueError("incremental decoding is for causal models")
        if cache.length + idx.shape[1] > self.cfg.context:
            raise ValueError(f"positions beyond the context of {self.cfg.context}; reset the cache and feed the "
                             "last part of the sequence again")
        x = self.embed(idx)
        for i, block in enumerate(self.blocks):
            x = block(x, self.rope_cos, self.rope_sin, None, cache, i)
        cache.advance()
        return self.head(self.norm(x))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self) -> float:
        """Training FLOPs per token (6N + attention), as in the PaLM appendix / nanoGPT's MFU."""
        c = self.cfg
        return 6 * self.num_parameters() + 12 * c.n_layer * c.d_model * c.context

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, new_tokens: int, temperature: float = 0.8, top_k: int = 40,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        idx = prompt
        for _ in range(new_tokens):
            logits = self(idx[:, -self.cfg.context:])[:, -1].float() / max(temperature, 1e-5)
            logits[:, 256:] = float("-inf")  # bytes only
            if top_k:
                kth = torch.topk(logits, top_k).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)
            idx = torch.cat([idx, nxt], 1)
        return idx
