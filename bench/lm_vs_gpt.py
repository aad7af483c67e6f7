"""The lab's byte-level Llama against a plain GPT-2-style model of the same parameter count, written here
(learned positions, LayerNorm, fused qkv with biases, GELU MLP, SDPA, tied embeddings: the nanoGPT recipe).
Same shape (6 layers, 384 wide, 6 heads, context 256), same batch of bytes, same AdamW; training steps timed
interleaved (A, B, A, B, ...) so machine noise falls on both; eager, and compiled with --compile. On CUDA also
the MFU of each (dense bf16 peak).

    .venv/bin/python bench/lm_vs_gpt.py [--device cpu|cuda] [--steps 10] [--pairs 4] [--batch 8] [--compile]
        [--threads N]
"""

from __future__ import annotations

import argparse
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


class GPTBlock(nn.Module):
    def __init__(self, d: int, heads: int, mlp: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, mlp), nn.Linear(mlp, d)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class PlainGPT(nn.Module):
    def __init__(self, layers: int, d: int, heads: int, context: int, mlp: int):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB_SIZE, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(GPTBlock(d, heads, mlp) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB_SIZE, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def matched_gpt(target: int, layers: int, d: int, heads: int, context: int) -> PlainGPT:
    """The GPT whose MLP width brings its parameter count closest to `target`."""
    base = params(PlainGPT(layers, d, heads, context, 4))
    per_unit = (params(PlainGPT(layers, d, heads, context, 5)) - base)
    mlp = max(4, round(4 + (target - base) / per_unit))
    return PlainGPT(layers, d, heads, context, mlp)


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
    lab = LlamaModel(LlamaConfig(n_layer=layers, d_model=d, n_head=heads, n_kv_head=heads, context=context),
                     device=torch.device(dev)).to(dev)
    gpt = matched_gpt(params(lab), layers, d, heads, context).to(dev)
    x = torch.randint(0, 256, (args.batch, context + 1), device=dev)
    inp, tgt = x[:, :-1], x[:, 1:]
    autocast = torch.autocast("cuda", torch.bfloat16) if dev.startswith("cuda") else torch.autocast("cpu",
                                                                                                    enabled=False)
    rows = []
    for mode in (["eager", "compiled"] if args.compile else ["eager"]):
        steps = {}
        for name, model in (("lab", lab), ("gpt", gpt)):
            m = torch.compile(model) if mode == "compiled" else model
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            raw = step_fn(m, opt, inp, tgt)

            def step(raw=raw):
                with autocast:
                    raw()
            steps[name] = step
            t0 = time.perf_counter()
            for _ in range(3):  # warm-up (and compilation)
                step()
            print(f"{mode} {name}: warm-up {time.perf_counter() - t0:.1f} s", flush=True)
        seconds = {"lab": [], "gpt": []}
        for _ in range(args.pairs):
            for name in ("lab", "gpt"):
                seconds[name].append(timed(steps[name], args.steps, dev))
        tok = args.batch * context * args.steps
        lab_tps, gpt_tps = tok / statistics.median(seconds["lab"]), tok / statistics.median(seconds["gpt"])
        row = {"mode": mode, "device": dev, "params_lab": params(lab), "params_gpt": params(gpt),
               "lab_tokens_s": round(lab_tps), "gpt_tokens_s": round(gpt_tps), "lab_over_gpt": round(lab_tps / gpt_tps, 3)}
        if dev.startswith("cuda"):
            name = torch.cuda.get_device_name(0)
            peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
            if peak:
                flops = 6 * params(lab) + 12 * layers * d * context
                row.update(lab_mfu=round(lab_tps * flops / peak, 3), gpt_mfu=round(gpt_tps * flops / peak, 3))
        rows.append(row)
        print(row, flush=True)
    report("lm_vs_gpt", rows)


if __name__ == "__main__":
    main()
