"""The lab's byte-level Llama against upstream nanoGPT's GPT (karpathy/nanoGPT model.py, re-implemented
faithfully below: learned positions, LayerNorm, fused c_attn, SDPA, 4x GELU MLP, tied embeddings), at the same
shape (6 layers, 384 wide, 6 heads, context 256, the byte vocabulary), the same batch of bytes and nanoGPT's
AdamW recipe (which the lab uses too); nanoGPT both without biases (train.py's default) and with them
(model.py's). Training steps timed interleaved (A, B, C, A, B, C, ...) so machine noise falls on all; eager,
and compiled with --compile. On CUDA also the MFU of each (dense bf16 peak).

    .venv/bin/python bench/lm_vs_gpt.py [--device cpu|cuda] [--steps 10] [--pairs 4] [--batch 8] [--compile]
        [--threads N]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from bench.common import report  # noqa: E402
from genesis_core.lm.bytes import VOCAB_SIZE  # noqa: E402
from genesis_core.lm.model import LlamaConfig, LlamaModel  # noqa: E402

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


class LayerNorm(nn.Module):
    """nanoGPT's LayerNorm with an optional bias."""

    def __init__(self, ndim: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, heads: int, bias: bool):
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d, bias=bias)
        self.c_proj = nn.Linear(d, d, bias=bias)
        self.n_head, self.n_embd = heads, d

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        q = q.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        v = v.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, d: int, bias: bool):
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * d, d, bias=bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, bias: bool):
        super().__init__()
        self.ln_1, self.attn = LayerNorm(d, bias), CausalSelfAttention(d, heads, bias)
        self.ln_2, self.mlp = LayerNorm(d, bias), MLP(d, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """karpathy/nanoGPT's model.py GPT, re-implemented at the given shape (dropout 0): learned positions,
    LayerNorm, fused c_attn, SDPA with is_causal, 4x GELU MLP, tied embeddings, GPT-2 init with the scaled
    c_proj. `bias` is model.py's default (True); train.py's default is False."""

    def __init__(self, layers: int, d: int, heads: int, context: int, bias: bool):
        super().__init__()
        self.context = context
        self.wte, self.wpe = nn.Embedding(VOCAB_SIZE, d), nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads, bias) for _ in range(layers))
        self.ln_f = LayerNorm(d, bias)
        self.lm_head = nn.Linear(d, VOCAB_SIZE, bias=False)
        self.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def nanogpt_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """nanoGPT's configure_optimizers: decay on 2-D parameters, betas (0.9, 0.95), fused on CUDA."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    fused = next(model.parameters()).is_cuda
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), fused=fused or None)


def step_fn(model, opt, x, y):
    def step():
        loss = F.cross_entropy(model(x).flatten(0, 1).float(), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


def timed(step, steps: int, device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    layers, d, heads, context = 6, 384, 6, 256
    torch.manual_seed(0)
    models = {
        "lab": LlamaModel(LlamaConfig(n_layer=layers, d_model=d, n_head=heads, n_kv_head=heads, context=context),
                          device=torch.device(dev)).to(dev),
        "nanogpt": NanoGPT(layers, d, heads, context, bias=False).to(dev),  # train.py's default
        "nanogpt_bias": NanoGPT(layers, d, heads, context, bias=True).to(dev),  # model.py's default
    }
    x = torch.randint(0, 256, (args.batch, context + 1), device=dev)
    inp, tgt = x[:, :-1], x[:, 1:]
    autocast = torch.autocast("cuda", torch.bfloat16) if dev.startswith("cuda") else torch.autocast("cpu",
                                                                                                    enabled=False)
    rows = []
    for mode in (["eager", "compiled"] if args.compile else ["eager"]):
        steps = {}
        for name, model in models.items():
            m = torch.compile(model) if mode == "compiled" else model
            raw = step_fn(m, nanogpt_optimizer(model, 1e-4), inp, tgt)  # the lab's recipe is nanoGPT's

            def step(raw=raw):
                with autocast:
                    raw()
            steps[name] = step
            t0 = time.perf_counter()
            for _ in range(3):  # warm-up (and compilation)
                step()
            print(f"{mode} {name}: warm-up {time.perf_counter() - t0:.1f} s", flush=True)
        seconds = {name: [] for name in models}
        for _ in range(args.pairs):
            for name in models:
                seconds[name].append(timed(steps[name], args.steps, dev))
        tok = args.batch * context * args.steps
        tps = {name: tok / statistics.median(s) for name, s in seconds.items()}
        lab_pairs = [g / l for l, g in zip(seconds["lab"], seconds["nanogpt"])]  # per round: gpt time / lab time
        row = {"mode": mode, "device": dev, **{f"params_{n}": params(m) for n, m in models.items()},
               **{f"{n}_tokens_s": round(v) for n, v in tps.items()},
               "lab_over_nanogpt": round(tps["lab"] / tps["nanogpt"], 3),
               "lab_over_nanogpt_rounds": [round(r, 3) for r in lab_pairs],
               "lab_over_nanogpt_bias": round(tps["lab"] / tps["nanogpt_bias"], 3)}
        if dev.startswith("cuda"):
            name = torch.cuda.get_device_name(0)
            peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
            if peak:
                flops = models["lab"].flops_per_token()
                row.update({f"{n}_mfu": round(v * flops / peak, 3) for n, v in tps.items()})
        rows.append(row)
        print(row, flush=True)
    report("lm_vs_gpt", rows)


if __name__ == "__main__":
    main()
