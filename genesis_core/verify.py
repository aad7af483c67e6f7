"""`genesis verify`: is this installation whole? One line per check, each with what it found; a non-zero exit
when any fails. The same checks run as a job from the Home page (task `verify`).

  versions     the packages the workbench is tested with, imported
  device       the device and precision jobs would use
  attention    the LM's attention backend on that device
  mp4          a rendered clip with sound encoded to mp4 and decoded again (torchcodec + FFmpeg)
  corpora      the built-in LM corpora (Debian's fortunes packages)
  tabular      SDV, Opacus and mbi (Private-PGM) import
  service      FastAPI and uvicorn import
  tasks        a 3-step run of each task in a temporary workspace (skipped with --quick)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from genesis_core.registry import COMMANDS, TASKS

PACKAGES = ("torch", "torchvision", "torchaudio", "torchcodec", "numpy", "pandas", "streamlit", "plotly", "sdv",
            "opacus", "mbi", "optuna", "scikit-learn", "safetensors", "fastapi", "uvicorn")

# the smallest honest run of each task: its own defaults, 3 steps, small data where the task lets it choose
TASK_RUNS: dict[str, dict[str, Any]] = {
    "image_autoencoder": {"data": {"dataset": "sklearn_digits"}},
    "bottleneck_sweep": {"data": {"dataset": "sklearn_digits"}, "latent_sizes": [2]},
    "image_restoration": {"data": {"dataset": "sklearn_digits"}},
    "image_diffusion": {"data": {"dataset": "sklearn_digits"}},
    "image_flow": {"data": {"dataset": "sklearn_digits"}},
    "image_gan": {"data": {"dataset": "sklearn_digits"}},
    "image_vqvae": {"data": {"dataset": "sklearn_digits"}},
    "audio_to_video": {},
    "language_model": {},
    "tabular_synthesis": {"generator": "gaussian_copula", "report": False},
    "tabular_privacy_curve": {"generators": ["mst"], "epsilons": [1.0]},
}
NOT_RUN = {"sweep": "a sweep runs trials of the other tasks, which are run here", "verify": "these checks"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<26} {self.detail} ({self.seconds:.1f} s)"


def _versions() -> str:
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise RuntimeError(f"not installed: {', '.join(missing)} (./workbench installs requirements.txt)")
    import torch  # noqa: F401  (installed is not always importable: the CUDA build on a machine without its libraries)

    return ", ".join(found)


def _device() -> str:
    from genesis_core.device import describe_device, pick_device, pick_precision

    device = pick_device(None)
    precision = pick_precision(device)
    return f"{describe_device(device)}, {'bf16 autocast' if precision.dtype is not None else 'float32'}"


def _attention() -> str:
    from genesis_core.device import pick_device
    from genesis_core.lm.attention import choose_backend

    backend, why = choose_backend(pick_device(None))
    return f"{backend}: {why}"


def _mp4() -> str:
    import numpy as np
    import torch
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    from genesis_core.av.render import encode_mp4

    fps, sr = 12.0, 16000
    t = torch.linspace(0, 1, 24)
    frames = torch.stack([torch.full((3, 32, 32), float(v)) for v in t])
    wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr).astype(np.float32)
    data = encode_mp4(frames, fps, wave, sr)
    video = VideoDecoder(data)
    decoded = video.get_frames_in_range(0, len(video)).data
    audio = AudioDecoder(data).get_all_samples()
    if len(decoded) != len(frames):
        raise RuntimeError(f"wrote {len(frames)} frames, read back {len(decoded)}")
    err = float((decoded.float() / 255 - frames).abs().mean())
    return (f"{len(decoded)} frames {decoded.shape[-1]}x{decoded.shape[-2]} back (mean error {err:.3f}), "
            f"{audio.data.shape[-1] / audio.sample_rate:.2f} s of sound ({len(data) / 1024:.0f} KiB)")


def _corpora() -> str:
    from genesis_core.lm.corpus import BUILTIN_SOURCES, builtin_language

    sizes = []
    for language in BUILTIN_SOURCES:
        corpus = builtin_language(language)
        sizes.append(f"{language} {len(corpus.train.encode()) / 1024:.0f} KiB")
    return ", ".join(sizes)


def _tabular() -> str:
    import opacus
    import sdv

    from genesis_core.tabular.single_table.mst import _mbi

    _mbi()  # imported as MST imports it (JAX set up first)

    return f"SDV {sdv.__version__}, Opacus {opacus.__version__}, mbi {metadata.version('mbi')}"


def _service() -> str:
    import fastapi
    import uvicorn

    return f"FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}"


def _trackers() -> str:
    """The trackers trainer.tracker can name; a missing one is said, not failed (they are optional)."""
    found = []
    for name, dists in (("TensorBoard", ("tensorboard",)), ("MLflow", ("mlflow", "mlflow-skinny")),
                        ("W&B", ("wandb",))):
        versions = []
        for dist in dists:
            try:
                versions.append(metadata.version(dist))
            except metadata.PackageNotFoundError:
                pass
        found.append(f"{name} {versions[0]}" if versions else f"{name} not installed")
    return ", ".join(found)


def _task_run(task: str) -> Callable[[], str]:
    def run() -> str:
        from genesis_core.config import apply_overrides
        from genesis_core.registry import task_config
        from genesis_core.store.workspace import Workspace
        from genesis_core.training.launch import launch

        overrides = TASK_RUNS[task]
        with tempfile.TemporaryDirectory(prefix="genesis-verify-") as home:
            config = task_config(apply_overrides({"task": task, **overrides},
                                                 ["trainer.steps=3", "trainer.tensorboard=false"]))
            ws = Workspace(Path(home))
            run_ = ws.create_run(task, {"task": task, **overrides}, name=f"verify {task}")
            result = launch(config, run_)
        metrics = ", ".join(f"{k}={v:.3g}" for k, v in list(result.eval_metrics.items())[:2])
        return f"{result.reason} at step {result.step}/{result.total_steps}" + (f"; {metrics}" if metrics else "")

    return run


def checks(quick: bool = False) -> list[tuple[str, Callable[[], str]]]:
    from genesis_core.registry import load_plugins

    out = [("versions", _versions), ("device and precision", _device), ("attention backend", _attention),
           ("mp4 round trip", _mp4), ("LM corpora", _corpora), ("SDV, Opacus, mbi", _tabular),
           ("HTTP service", _service), ("trackers", _trackers)]
    if not quick:
        load_plugins()
        for task in TASKS.names():
            if task in TASK_RUNS:
                out.append((f"task {task}", _task_run(task)))
    return out


def run_checks(quick: bool = False, on_check: Callable[[Check, int, int], None] = lambda c, i, n: None,
               stop: Callable[[], bool] = lambda: False) -> list[Check]:
    """Run every check (a failure is recorded, never raised); `on_check(check, done, total)` after each."""
    todo, done = checks(quick), []
    for i, (name, fn) in enumerate(todo):
        if stop():
            break
        t0 = time.perf_counter()
        try:
            check = Check(name, True, fn(), 0.0)
        except Exception as exc:  # a check that fails is the report, not a crash
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            check = Check(name, False, f"{type(exc).__name__}: {text}", 0.0)
            check.trace = traceback.format_exc()  # type: ignore[attr-defined]
        check.seconds = time.perf_counter() - t0
        done.append(check)
        on_check(check, i + 1, len(todo))
    return done


@COMMANDS.register("verify")
def add_verify_command(sub) -> None:
    v = sub.add_parser("verify", help="check this installation: versions, device, mp4, corpora, a 3-step run of "
                                      "each task", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("--quick", action="store_true", help="skip the 3-step run of each task")
    v.add_argument("--json", action="store_true", help="print the checks as JSON")
    v.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    def show(check: Check, done: int, total: int) -> None:
        if not args.json:
            print(check.line(), flush=True)

    results = run_checks(args.quick, show)
    failed = [c for c in results if not c.ok]
    if args.json:
        print(json.dumps([{k: v for k, v in asdict(c).items()} for c in results], indent=2))
    else:
        print(f"{len(results) - len(failed)} of {len(results)} checks passed"
              + (f"; failed: {', '.join(c.name for c in failed)}" if failed else ""))
        for c in failed:
            print(getattr(c, "trace", ""), file=sys.stderr)
    return 1 if failed else 0
