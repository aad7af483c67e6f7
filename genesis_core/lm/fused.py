"""Hand-written forward and backward passes for the three element-wise pieces of the Llama block that eager
PyTorch runs as chains of small kernels on the CPU. Each writes its output (and its gradient) in place into one
buffer and saves only what its backward needs; each equals the plain autograd version to float precision
(tests/lm/test_fused.py checks values and gradients, and gradcheck in float64).

  rms_norm      x * rsqrt(mean(x^2) + eps) * w. On the CPU torch's F.rms_norm is a composite (pow, mean, add,
                rsqrt, mul, mul, and as many again backward); on CUDA it is one fused kernel and is used as is.
  rotary        rotate-half RoPE: out1 = x1 cos - x2 sin, out2 = x2 cos + x1 sin, on half-width tables; the
                gradient is the same rotation by the opposite angle. Autograd's version builds the rotated
                copy with a negation and a concatenation, forward and backward.
  silu_mul      SwiGLU's silu(gate) * up from the one gate_up projection; its gradient is written straight into
                the two halves of one buffer, where autograd's chunk backward concatenates two new tensors.

Under torch.compile each falls back to the plain formula, which inductor fuses into one kernel on its own.
What each bought on the bench's shape is in the README (bench/lm_vs_gpt.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True).add_(eps))
        ctx.save_for_backward(x, weight, r)
        return (x * r).mul_(weight)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, weight, r = ctx.saved_tensors
        xhat = x * r
        grad_w = (g * xhat).flatten(0, -2).sum(0) if ctx.needs_input_grad[1] else None
        gn = g * weight
        dot = (gn * xhat).mean(-1, keepdim=True)
        grad_x = gn.sub_(xhat.mul_(dot)).mul_(r)
        return grad_x, grad_w, None


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    # fused on CUDA and under compile; mixed dtypes follow torch's own rules
    if x.device.type == "cuda" or x.dtype != weight.dtype or torch.compiler.is_compiling():
        return F.rms_norm(x, (x.shape[-1],), weight, eps)
    return _RMSNorm.apply(x, weight, eps)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, sign: float) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    o1, o2 = out[..., :half], out[..., half:]
    torch.mul(x1, cos, out=o1).addcmul_(x2, sin, value=-sign)
    torch.mul(x2, cos, out=o2).addcmul_(x1, sin, value=sign)
    return out


class _Rotary(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(cos, sin)
        return _rotate(x, cos, sin, 1.0)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        cos, sin = ctx.saved_tensors
        return _rotate(g, cos, sin, -1.0), None, None


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, D); cos, sin (T, D/2): each pair (i, i + D/2) rotated by its position's angle."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if torch.compiler.is_compiling():
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return _Rotary.apply(x, cos, sin)


class _SiluMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gate_up: torch.Tensor) -> torch.Tensor:
        gate, up = gate_up.chunk(2, dim=-1)
        activated = F.silu(gate)
        ctx.save_for_backward(gate_up, activated)
        return activated * up

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        gate_up, activated = ctx.saved_tensors
        gate, up = gate_up.chunk(2, dim=-1)
        grad = torch.empty(gate_up.shape, dtype=g.dtype, device=g.device)
        grad_gate, grad_up = grad.chunk(2, dim=-1)
        torch.mul(g, activated, out=grad_up)
        torch.ops.aten.silu_backward.grad_input(g * up, gate, grad_input=grad_gate)
        return grad


def silu_mul(gate_up: torch.Tensor) -> torch.Tensor:
    """silu(first half) * second half of the last axis."""
    if torch.compiler.is_compiling():
        gate, up = gate_up.chunk(2, dim=-1)
        return F.silu(gate) * up
    return _SiluMul.apply(gate_up)
