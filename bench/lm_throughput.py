"""Training throughput of the byte-level Llama and the overhead of loss analytics + logging.

A nanoGPT-sized small config (6 layers, 384 wide, 6 heads, context 256) on the built-in corpus. Two loops
on the same model, data and optimizer, interleaved A/B so machine noise hits both alike:
  bare      model, device-resident loader, AdamW, warmup+cosine, clipping; nothing else
  trainer   the shared Trainer with the language_model task: loss analytics, LR stun, SQLite scalars and
            events, TensorBoard, progress (checkpoints and evaluation excluded from the timed window)
Reports tokens per second of each, their ratio, and on CUDA the model FLOPs utilisation (MFU) against
the GPU's dense bf16 peak, for every attention backend available (flash-attn vs SDPA).

    .venv/bin/python bench/lm_throughput.py [--device cpu|cuda] [--steps 15] [--pairs 3] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from genesis_core.config import from_dict  # noqa: E402
from genesis_core.device import pick_precision  # noqa: E402
from genesis_core.lm.task import LanguageModelConfig, LanguageModelTask  # noqa: E402
from genesis_core.store.workspace import Workspace  # noqa: E402
from genesis_core.training.callbacks import Callback  # noqa: E402
from genesis_core.training.trainer import Trainer, seed_everything  # noqa: E402

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def config(device: str, steps: int, batch: int, attention: str) -> dict:
    return {"task": "language_model", "data": {"batch_size": batch, "eval_bytes": 1024},
            "model": {"n_layer": 6, "d_model": 384, "n_head": 6, "n_kv_head": 6, "context": 256, "attention": attention},
            "trainer": {"steps": steps, "lr": 1e-3, "warmup_steps": 2, "device": device, "log_every": 1,
                        "eval_every": 0, "checkpoint_every": 0, "preview_every": 0, "tensorboard": True}}


def make_task(cfg: dict, device: str) -> LanguageModelTask:
    return LanguageModelTask(from_dict(LanguageModelConfig, cfg), torch.device(device))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bare_seconds(cfg: dict, device: str, warm: int) -> float:
    """Seconds for steps warm..steps of a plain loop."""
    task = make_task(cfg, device)
    seed_everything(0)
    model = task.build_model().to(device)
    opt, loader = task.build_optimizer(model), task.build_loader()
    sched = task.build_scheduler(opt)
    precision = pick_precision(torch.device(device), "auto")
    start = None
    for step in range(cfg["trainer"]["steps"]):
        if step == warm:
            sync(device)
            start = time.perf_counter()
        x, y, _ = loader.next_batch()
        with precision.autocast(torch.device(device)):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    sync(device)
    return time.perf_counter() - start


class Clock(Callback):
    def __init__(self, warm: int, last: int, device: str):
        self.warm, self.last, self.device = warm, last, device
        self.start = self.end = 0.0

    def on_step_end(self, trainer, logs):
        if trainer.step == self.warm:
            sync(self.device)
            self.start = time.perf_counter()
        if trainer.step == self.last:
            sync(self.device)
            self.end = time.perf_counter()


def trainer_seconds(cfg: dict, device: str, warm: int) -> float:
    ws = Workspace(tempfile.mkdtemp(prefix="bench-lm-"))
    run = ws.create_run("language_model", cfg)
    trainer = Trainer(make_task(cfg, device), run)
    clock = Clock(warm, cfg["trainer"]["steps"] - 1, device)  # the last step also evaluates: left out
    trainer.callbacks.append(clock)
    trainer.fit()
    return clock.end - clock.start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--warm", type=int, default=3)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    backends = ["sdpa"]
    if args.device.startswith("cuda"):
        from genesis_core.lm.attention import flash_available

        ok, why = flash_available(torch.device(args.device))
        backends = ["flash", "sdpa"] if ok else ["sdpa"]
        print(f"flash-attn: {why}")
    rows = []
    for backend in backends:
        cfg = config(args.device, args.steps, args.batch, backend)
        tokens = (args.steps - 1 - args.warm) * args.batch * 256
        bare_tokens = (args.steps - args.warm) * args.batch * 256
        ratios, tps_bare, tps_trainer = [], [], []
        for _ in range(args.pairs):
            b = bare_seconds(cfg, args.device, args.warm)
            t = trainer_seconds(cfg, args.device, args.warm)
            tps_bare.append(bare_tokens / b)
            tps_trainer.append(tokens / t)
            ratios.append((bare_tokens / b) / (tokens / t))
        model = make_task(cfg, args.device).build_model()
        row = {"device": args.device, "attention": backend, "params_M": round(model.num_parameters() / 1e6, 2),
               "tokens_per_s_bare": round(statistics.median(tps_bare), 1),
               "tokens_per_s_trainer": round(statistics.median(tps_trainer), 1),
               "overhead_ratio": round(statistics.median(ratios), 3)}
        if args.device.startswith("cuda"):
            name = torch.cuda.get_device_name(0)
            peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
            if peak:
                row["mfu"] = round(model.flops_per_token() * row["tokens_per_s_trainer"] / peak, 4)
        rows.append(row)
    report("lm_throughput", rows, {"config": config(args.device, args.steps, args.batch, "sdpa")["model"],
                                   "batch": args.batch, "pairs": args.pairs})


if __name__ == "__main__":
    main()
