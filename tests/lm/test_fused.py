"""The hand-written forward/backward passes of lm/fused.py equal the plain formulas, values and gradients."""

import torch
import torch.nn.functional as F

from genesis_core.lm.fused import rms_norm, rotary, silu_mul
from genesis_core.lm.model import LlamaConfig, LlamaModel, rope_tables


def _reference_rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def _grads(fn, *inputs):
    out = fn(*inputs)
    g = torch.randn_like(out, generator=torch.Generator().manual_seed(3))
    return out, torch.autograd.grad(out, [i for i in inputs if i.requires_grad], g)


def test_rms_norm_matches_the_formula_and_passes_gradcheck():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 16, generator=gen, requires_grad=True)
    w = (1 + 0.3 * torch.randn(16, generator=gen)).requires_grad_()
    ours, ours_g = _grads(lambda a, b: rms_norm(a, b, 1e-6), x, w)
    ref, ref_g = _grads(lambda a, b: a * torch.rsqrt(a.pow(2).mean(-1, keepdim=True) + 1e-6) * b, x, w)
    torch.testing.assert_close(ours, ref)
    for a, b in zip(ours_g, ref_g):
        torch.testing.assert_close(a, b)
    xd, wd = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: rms_norm(a, b, 1e-6), (xd, wd))


def test_rotary_matches_rotate_half_and_its_gradient_is_the_opposite_rotation():
    gen = torch.Generator().manual_seed(1)
    cos, sin = rope_tables(8, 6, 10000.0)
    assert cos.shape == (6, 4)
    x = torch.randn(2, 3, 6, 8, generator=gen, requires_grad=True)
    ours, ours_g = _grads(lambda a: rotary(a, cos, sin), x)
    ref, ref_g = _grads(lambda a: _reference_rope(a, cos, sin), x)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours_g[0], ref_g[0])
    # a rotation keeps each pair's length
    torch.testing.assert_close(ours.norm(dim=-1), x.norm(dim=-1))
    xd = x.detach().double().requires_grad_()
    assert torch.autograd.gradcheck(lambda a: rotary(a, cos.double(), sin.double()), (xd,))


def test_silu_mul_matches_chunked_swiglu_and_passes_gradcheck():
    gen = torch.Generator().manual_seed(2)
    gu = torch.randn(4, 7, 2 * 12, generator=gen, requires_grad=True)
    ours, ours_g = _grads(silu_mul, gu)

    def reference(a):
        gate, up = a.chunk(2, dim=-1)
        return F.silu(gate) * up

    ref, ref_g = _grads(reference, gu)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours_g[0], ref_g[0])
    assert torch.autograd.gradcheck(silu_mul, (gu.detach().double().requires_grad_(),))


def test_the_model_trains_the_same_with_the_fused_pieces_as_with_plain_autograd(monkeypatch):
    """One optimiser step of a small Llama with lm/fused.py equals the same step with the plain formulas."""
    import genesis_core.lm.model as model_mod

    cfg = LlamaConfig(context=16, d_model=32, n_layer=2, n_head=4, n_kv_head=2)
    idx = torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(4))

    def one_step():
        torch.manual_seed(0)
        m = LlamaModel(cfg)
        logits = m(idx[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx[:, 1:].reshape(-1))
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}

    fused_loss, fused_grads = one_step()
    monkeypatch.setattr(model_mod, "rms_norm",
                        lambda x, w, eps: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w)
    monkeypatch.setattr(model_mod, "rotary", _reference_rope)
    monkeypatch.setattr(model_mod, "silu_mul", lambda a: F.silu(a.chunk(2, -1)[0]) * a.chunk(2, -1)[1])
    plain_loss, plain_grads = one_step()
    torch.testing.assert_close(fused_loss, plain_loss)
    assert fused_grads.keys() == plain_grads.keys()
    for name in fused_grads:
        torch.testing.assert_close(fused_grads[name], plain_grads[name], rtol=1e-4, atol=1e-6, msg=name)
