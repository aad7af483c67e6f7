"""Attention backends: flash-attn (CUDA, fp16/bf16, when installed), PyTorch's SDPA, or the explicit
math path. `choose_backend` is the one place that decides, and says why."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BACKENDS = ("auto", "flash", "sdpa", "math")


def flash_available(device: torch.device) -> tuple[bool, str]:
    if device.type != "cuda":
        return False, "flash-attn needs a CUDA GPU"
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        return False, "flash-attn is not installed (pip install -r requirements-cuda.txt)"
    major, _ = torch.cuda.get_device_capability(device)
    if major < 8:
        return False, "flash-attn needs an Ampere or newer GPU"
    return True, "flash-attn installed on a supported GPU"


def choose_backend(device: torch.device, requested: str = "auto") -> tuple[str, str]:
    """(backend, reason)."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown attention backend {requested!r}; use one of {', '.join(BACKENDS)}")
    ok, why = flash_available(device)
    if requested == "flash":
        if not ok:
            raise ValueError(f"attention backend 'flash' is not available: {why}")
        return "flash", why
    if requested in ("sdpa", "math"):
        return requested, "requested in the config"
    if ok:
        return "flash", why
    return "sdpa", f"PyTorch scaled_dot_product_attention ({why})"


def document_mask(docs: torch.Tensor, causal: bool) -> torch.Tensor:
    """(B, 1, T, T) boolean mask, True where a query may attend a key: the same record (docs (B, T) holds each
    position's record id) and, when causal, not a later position."""
    mask = (docs[:, :, None] == docs[:, None, :])[:, None]
    if causal:
        t = docs.shape[1]
        mask = mask & torch.ones(t, t, dtype=torch.bool, device=docs.device).tril()
    return mask


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, backend: str,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """q (B, H, T, D); k, v (B, H_kv, T, D) with H a multiple of H_kv (grouped-query attention). `mask`
    (document_mask) limits attention to each record; it already holds causality, and goes through SDPA (or the
    math path), as flash-attn's dense kernel takes no mask."""
    groups = q.shape[1] // k.shape[1]
    if mask is not None:
        if groups > 1:
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        if backend == "math":
            scores = ((q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf"))
            return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if backend == "flash" and q.dtype in (torch.float16, torch.bfloat16):
        from flash_attn import flash_attn_func  # takes (B, T, H, D) and does GQA itself

        out = flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=causal)
        return out.transpose(1, 2)
    if groups > 1:
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
    if backend in ("sdpa", "flash"):  # flash on fp32 input falls back to SDPA
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        t = q.shape[-2]
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
