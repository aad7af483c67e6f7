import pytest
import torch

from genesis_core.lm.attention import attention, choose_backend
from genesis_core.lm.model import LlamaConfig, LlamaModel


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("heads", [(4, 4), (4, 2), (4, 1)])
def test_attention_backends_agree(causal, heads):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, heads[0], 16, 8, generator=g)
    k, v = torch.randn(2, heads[1], 16, 8, generator=g), torch.randn(2, heads[1], 16, 8, generator=g)
    assert torch.allclose(attention(q, k, v, causal, "sdpa"), attention(q, k, v, causal, "math"), atol=1e-5)


def test_backend_choice_says_why():
    backend, reason = choose_backend(torch.device("cpu"))
    assert backend == "sdpa" and "flash-attn needs a CUDA GPU" in reason
    with pytest.raises(ValueError, match="not available"):
        choose_backend(torch.device("cpu"), "flash")
    assert choose_backend(torch.device("cpu"), "math")[0] == "math"


def tiny(**kw):
    return LlamaConfig(n_layer=2, d_model=32, n_head=4, n_kv_head=2, context=16, **kw)


def test_causal_model_never_looks_ahead_and_masked_model_does():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (1, 16))
    y = x.clone()
    y[0, 10] = (y[0, 10] + 1) % 256
    causal = LlamaModel(tiny(), causal=True).eval()
    assert torch.allclose(causal(x)[0, :10], causal(y)[0, :10], atol=1e-6)
    assert not torch.allclose(causal(x)[0, 10:], causal(y)[0, 10:])
    bidirectional = LlamaModel(tiny(), causal=False).eval()
    assert not torch.allclose(bidirectional(x)[0, :10], bidirectional(y)[0, :10])


def test_math_and_sdpa_models_give_the_same_logits():
    torch.manual_seed(0)
    a = LlamaModel(tiny(attention="sdpa")).eval()
    b = LlamaModel(tiny(attention="math")).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randint(0, 256, (2, 16))
    assert torch.allclose(a(x), b(x), atol=1e-5)


def test_aux_language_head_and_generation():
    model = LlamaModel(tiny(aux_language_head=True), n_languages=3).eval()
    logits, aux = model(torch.randint(0, 256, (2, 8)), return_aux=True)
    assert logits.shape == (2, 8, 264) and aux.shape == (2, 3)
    out = model.generate(torch.tensor([[65, 66]]), 5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 7) and out.max() < 256
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        LlamaConfig(n_head=4, n_kv_head=3, d_model=32)


@pytest.mark.parametrize("kv_heads", [2, 4])
def test_incremental_decoding_gives_the_full_forwards_logits(kv_heads):
    torch.manual_seed(0)
    model = LlamaModel(LlamaConfig(n_layer=2, d_model=64, n_head=4, n_kv_head=kv_heads, context=32)).eval()
    x = torch.randint(0, 256, (3, 24))
    with torch.no_grad():
        full = model(x)
    cache = model.new_cache(3)
    parts = [model.extend(x[:, :7], cache)]  # a prefill, then one position at a time, then a block after the cache
    parts += [model.extend(x[:, i:i + 1], cache) for i in range(7, 15)]
    parts.append(model.extend(x[:, 15:], cache))
    assert torch.allclose(full, torch.cat(parts, 1), atol=1e-5)
    cache.keep(torch.tensor([2, 0]))  # rows leave the batch; the others decode on unchanged
    cache.reset()
    assert torch.allclose(model.extend(x[[2, 0], :5], cache), full[[2, 0], :5], atol=1e-5)
    with pytest.raises(ValueError, match="beyond the context"):
        model.extend(torch.cat([x[[2, 0]], x[[2, 0]]], 1)[:, :30], cache)
