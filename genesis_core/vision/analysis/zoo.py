"""The zoo: one small trained model of each generative family (and the autoencoder lab's VAE), all on one dataset
with the same step budget, each with its sample-quality figures, a same-seed sample grid and, for diffusion, FD
against sampler steps. scripts/build_family_zoo.py builds it into a new folder; the Generative families page shows
the shipped one (favorites/families/) on first open, before anything is trained.

A zoo folder holds zoo.json (what was built, how, and every figure) and one folder per member with the checkpoint
(meta.json + model.safetensors, loadable with training.loading.load_model) and grid.png.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

import torch

from genesis_core.errors import WorkbenchError
from genesis_core.formatting import log_ticks

if TYPE_CHECKING:
    from genesis_core.vision.networks.diffusion import Diffusion

ZOO_VERSION = 1


@dataclass(frozen=True)
class Member:
    """One model of the zoo: a task and the model keys that differ from the task's defaults."""

    task: str
    model: dict
    label: str


# the bench (bench/generative_families.py) races the same members
MEMBERS: dict[str, Member] = {
    # beta 0.1, not the lab's 1: with the MSE loss (the ELBO per pixel) beta 1 collapses the posterior on 8x8 digits
    # (PSNR 11.7 dB, the mean digit; FD 4,056, worse than noise); 0.1 was the best of 1, 0.1, 0.02 and BCE at beta 1,
    # a search on these digits the other members did not get
    "vae": Member("image_autoencoder", {"variational": True, "latent_dim": 16, "beta": 0.1}, "VAE, beta 0.1"),
    "vae_iaf": Member("image_autoencoder", {"variational": True, "latent_dim": 16, "beta": 0.1, "posterior": "iaf"},
                      "VAE, beta 0.1, IAF posterior"),
    "diffusion": Member("image_diffusion", {}, "diffusion, U-Net"),
    "dit": Member("image_diffusion", {"denoiser": "dit", "dit_patch": 2, "dit_hidden": 64, "dit_depth": 4},
                  "diffusion, DiT"),
    "gan": Member("image_gan", {}, "GAN, spectral norm + logistic"),
    "wgan_gp": Member("image_gan", {"loss": "wgan_gp"}, "GAN, WGAN-GP"),
    "flow": Member("image_flow", {}, "flow, affine coupling"),
    "spline_flow": Member("image_flow", {"coupling": "spline"}, "flow, rational-quadratic spline coupling"),
    "maf": Member("image_maf", {}, "MAF (autoregressive flow)"),
    "vqvae": Member("image_vqvae", {}, "VQ-VAE, independent prior"),
    "vqvae_pixelcnn": Member("image_vqvae", {"prior": "pixelcnn", "prior_dim": 32, "prior_layers": 5},
                             "VQ-VAE, PixelCNN prior"),
    "pixelcnn": Member("image_pixelcnn", {"dim": 32, "layers": 5, "kernel": 5}, "PixelCNN"),
    "ebm": Member("image_ebm", {}, "EBM, Langevin"),
}


class ZooError(WorkbenchError):
    """A zoo folder that is missing, incomplete or not written by the workbench."""


def member_config(name: str, dataset: str, steps: int, samples: int, seed: int = 0) -> dict:
    """The training config of a zoo member: every member the same steps, evaluated once at the end."""
    m = MEMBERS[name]
    trainer = {"steps": steps, "eval_every": steps, "checkpoint_every": 0, "preview_every": 0, "log_every": 50,
               "device": "cpu", "tensorboard": False, "seed": seed}
    if m.task == "image_autoencoder":  # the same budget as the others: no early stop, the last weights
        trainer.update(early_stop_metric="", best_metric="")
    cfg: dict[str, Any] = {"task": m.task, "name": f"zoo {name}", "data": {"dataset": dataset}, "model": dict(m.model),
           "trainer": trainer}
    if m.task != "image_autoencoder":
        cfg["eval_samples"] = samples
    return cfg


@torch.no_grad()
def member_samples(loaded: Any, n: int, seed: int = 0) -> torch.Tensor:
    """n samples of a loaded zoo model with a fixed seed; the VAE decodes draws from its N(0, I) prior."""
    from genesis_core.vision.analysis.explore import family_samples

    task, model = loaded.task, loaded.model
    if task.config.task == "image_autoencoder":
        z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
        return model.decode(z).float().clamp(0, 1).cpu()
    return family_samples(task, model, n, seed)


def build_zoo(out: Path, dataset: str = "sklearn_digits", steps: int = 1500, samples: int = 360,
              members: tuple[str, ...] = tuple(MEMBERS), sampler_steps: tuple[int, ...] = (5, 10, 25, 50),
              seed: int = 0, command: str = "", log: Callable[[str], None] = print) -> dict:
    """Train every member into `out` (a folder that must not exist yet), score it, draw its grid; returns zoo.json."""
    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.loading import load_model
    from genesis_core.training.trainer import Trainer
    from genesis_core.vision.data import load_split
    from genesis_core.vision.analysis.explore import sampler_curve
    from genesis_core.vision.images import to_pil_grid
    from genesis_core.vision.analysis.sample_quality import SampleScorer

    out = Path(out)
    if out.exists():
        raise ZooError(f"{out} exists; the zoo is built into a new folder (nothing was written)")
    unknown = sorted(set(members) - set(MEMBERS))
    if unknown:
        raise ZooError(f"no zoo member {', '.join(unknown)}; the members are {', '.join(MEMBERS)}")
    scorer = SampleScorer(load_split(dataset, 0.2, 0), ("zoo", dataset), n=samples)
    base = scorer.baselines()
    build = out.with_name(f".{out.name}.building")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    ws = Workspace(tempfile.mkdtemp(prefix="family-zoo-"))
    rows = []
    try:
        for i, name in enumerate(members):
            log(f"[{i + 1}/{len(members)}] {name}: training {steps} steps")
            cfg = member_config(name, dataset, steps, samples, seed)
            cls = TASKS.get(cfg["task"])
            run = ws.create_run(cfg["task"], cfg)
            start = time.perf_counter()
            result = Trainer(cls(from_dict(cls.config_cls, cfg), torch.device("cpu")), run, progress_bar=True).fit()
            train_s = time.perf_counter() - start
            folder = build / name
            folder.mkdir()
            checkpoint = run.latest_checkpoint()
            if checkpoint is None:
                raise WorkbenchError(f"{name}: its training wrote no checkpoint")
            for f in ("meta.json", "model.safetensors"):
                shutil.copy(checkpoint / f, folder / f)
            loaded = load_model(folder)  # the figures are those of the shipped weights, scored again after loading
            metrics = {k: float(v) for k, v in loaded.task.evaluate(loaded.model).items()}
            trained = result.eval_metrics.get("eval/fd", metrics.get("fd"))
            if "fd" in metrics and trained is not None and abs(metrics["fd"] - trained) > 1e-3 * abs(trained):
                log(f"[{i + 1}/{len(members)}] {name}: the loaded weights score FD {metrics['fd']:.1f}, the trained "
                    f"model {trained:.1f}: the checkpoint does not hold all of the model's state")
            if cfg["task"] == "image_autoencoder":  # its own evaluation is reconstruction; score its samples too
                start = time.perf_counter()
                images = member_samples(loaded, scorer.n)
                metrics["sample_ms_per_image"] = 1000 * (time.perf_counter() - start) / scorer.n
                metrics.update(scorer.score(images))
            grid = member_samples(loaded, 16, seed=0)
            to_pil_grid(list(grid.view(4, 4, *grid.shape[1:])), scale=4).save(folder / "grid.png")
            curve = []
            if cfg["task"] == "image_diffusion":
                log(f"[{i + 1}/{len(members)}] {name}: FD against sampler steps {list(sampler_steps)}")
                curve = sampler_curve(loaded.task, cast("Diffusion", loaded.model), steps=tuple(sampler_steps), n=samples)
            rows.append({"name": name, "label": MEMBERS[name].label, "task": cfg["task"], "model": MEMBERS[name].model,
                         "checkpoint": name, "grid": f"{name}/grid.png", "train_s": round(train_s, 1),
                         "metrics": metrics, "sampler_curve": curve})
            log(f"[{i + 1}/{len(members)}] {name}: FD {metrics.get('fd', float('nan')):.1f} "
                f"(floor {base['held_out_real']['fd']:.1f}, noise {base['noise']['fd']:.1f}), {train_s:.0f} s")
        zoo = {"version": ZOO_VERSION, "dataset": dataset, "steps": steps, "samples": scorer.n, "seed": seed,
               "built": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command, "torch": torch.__version__,
               "fd_floor": base["held_out_real"]["fd"], "fd_noise": base["noise"]["fd"],
               "classifier_accuracy": scorer.classifier_accuracy, "members": rows}
        (build / "zoo.json").write_text(json.dumps(zoo, indent=1))
        build.rename(out)
        return zoo
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(ws.root, ignore_errors=True)


def add_members(zoo_folder: Path, members: tuple[str, ...], out: Path, sampler_steps: tuple[int, ...] = (5, 10, 25, 50),
                command: str = "", log: Callable[[str], None] = print) -> dict:
    """A new zoo at `out`: the zoo at `zoo_folder` with `members` built beside its own under its settings (dataset,
    steps, samples, seed), so a new family joins the shipped zoo without training the others again. The new
    members are scored by a scorer built as the zoo's was; if its floor and ceiling differ from the zoo's by
    more than 2% (another machine's classifier), nothing is written: rebuild the whole zoo instead."""
    zoo = load_zoo(zoo_folder)
    have = {m["name"] for m in zoo.members}
    if set(members) & have:
        raise ZooError(f"{zoo_folder} already has {', '.join(sorted(set(members) & have))} (nothing was written)")
    out = Path(out)
    if out.exists():
        raise ZooError(f"{out} exists; the zoo is built into a new folder (nothing was written)")
    info = zoo.info
    with tempfile.TemporaryDirectory(prefix="zoo-add-") as tmp:
        new = build_zoo(Path(tmp) / "new", info["dataset"], info["steps"], info["samples"], members, sampler_steps,
                        info.get("seed", 0), command, log)
        for key in ("fd_floor", "fd_noise"):
            if abs(new[key] - info[key]) > 0.02 * abs(info[key]):
                raise ZooError(f"the new members' scorer gives {key} {new[key]:.1f}, the zoo's {info[key]:.1f}: "
                               "their figures would not compare; rebuild the whole zoo (nothing was written)")
        build = out.with_name(f".{out.name}.building")
        shutil.rmtree(build, ignore_errors=True)
        shutil.copytree(zoo.folder, build)
        for m in new["members"]:
            shutil.copytree(Path(tmp) / "new" / m["checkpoint"], build / m["checkpoint"])
        order = list(MEMBERS)
        rows = sorted([*zoo.members, *new["members"]], key=lambda m: order.index(m["name"]) if m["name"] in order
                      else len(order))
        merged = {**info, "members": rows, "command": "; ".join(c for c in (info.get("command", ""), command) if c)}
        (build / "zoo.json").write_text(json.dumps(merged, indent=1))
        build.rename(out)
    return merged


@dataclass(frozen=True)
class Zoo:
    folder: Path
    info: dict

    @property
    def members(self) -> list[dict]:
        return self.info["members"]

    def checkpoint(self, member: dict) -> Path:
        return self.folder / member["checkpoint"]

    def grid(self, member: dict) -> Path | None:
        """The member's sample grid, or None when the file is gone (the page says why and how to rebuild)."""
        path = self.folder / member["grid"]
        return path if path.is_file() else None


def load_zoo(folder: Path) -> Zoo:
    """Read a zoo folder written by build_zoo; anything else is one sentence (ZooError), never a traceback."""
    folder = Path(folder)
    path = folder / "zoo.json"
    if not path.is_file():
        raise ZooError(f"{folder} has no zoo.json: build one with scripts/build_family_zoo.py")
    try:
        info = json.loads(path.read_text())
        assert isinstance(info, dict) and info.get("version") == ZOO_VERSION, "version"
        for key in ("dataset", "steps", "samples", "fd_floor", "fd_noise", "members"):
            assert key in info, key
        for m in info["members"]:
            for key in ("name", "label", "task", "checkpoint", "grid", "metrics", "train_s", "sampler_curve"):
                assert key in m, f"{key} of a member"
            for key in ("checkpoint", "grid"):  # paths stay inside the folder
                p = Path(m[key])
                assert not p.is_absolute() and ".." not in p.parts, f"{key} path {m[key]!r}"
            assert all(isinstance(v, (int, float)) for v in m["metrics"].values()), "metrics"
    except (ValueError, AssertionError, TypeError, AttributeError) as exc:
        raise ZooError(f"{path} is not a zoo the workbench wrote ({exc or 'unreadable'}); rebuild it with "
                       "scripts/build_family_zoo.py") from exc
    return Zoo(folder, info)


def fd_verdict(fd: float, floor: float, noise: float) -> str:
    """Where an FD stands between held-out real images (the floor) and uniform noise, in words."""
    if fd != fd:
        return "no FD"
    if fd >= noise:
        return f"worse than noise ({fd / noise:.1f}x noise)"
    return f"{fd / floor:.1f}x the floor"


def comparison_rows(zoo: Zoo) -> list[dict]:
    """One row per member (and the VQ-VAE's independent prior where it was measured beside the learned one), with
    the figures the page's table shows and where the FD stands."""
    floor, noise = zoo.info["fd_floor"], zoo.info["fd_noise"]
    rows = [{"model": "held-out real images (floor)", "fd": floor, "verdict": "the floor"},
            {"model": "uniform noise (ceiling)", "fd": noise, "verdict": "the ceiling"}]
    for m in zoo.members:
        x = m["metrics"]
        fd = x.get("fd", float("nan"))
        rows.append({"model": m["label"], "fd": fd, "verdict": fd_verdict(fd, floor, noise),
                     "precision": x.get("precision"), "recall": x.get("recall"), "coverage": x.get("coverage"),
                     "test_bits_per_dim": x.get("test_bits_per_dim"), "psnr_db": x.get("psnr_db"),
                     "pca_psnr_db": x.get("pca_psnr_db"), "sample_ms_per_image": x.get("sample_ms_per_image"),
                     "train_s": m["train_s"]})
    return rows


def fd_figure(rows: list[dict], title: str):
    """FD of every model beside the floor and the ceiling, one marker each on a log axis (a single model shows)."""
    import plotly.graph_objects as go

    named = [r for r in rows if r.get("fd") == r.get("fd") and r.get("fd") is not None]
    fig = go.Figure(go.Scatter(x=[r["fd"] for r in named], y=[r["model"] for r in named], mode="markers",
                               marker={"size": 11, "color": ["#888" if r["verdict"] in ("the floor", "the ceiling")
                                                             else "#d62728" if r["verdict"].startswith("worse")
                                                             else "#1f77b4" for r in named]},
                               hovertemplate="%{y}: FD %{x:.1f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="FD in domain features (log; lower is better)", xaxis_type="log",
                      height=80 + 28 * len(named), margin={"l": 10, "r": 10, "t": 50, "b": 10})
    fig.update_xaxes(**log_ticks([r["fd"] for r in named]))
    return fig


def sampler_figure(curves: dict[str, list[dict]]):
    """FD against network evaluations for each sampler of each diffusion model: lines with markers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for model, rows in curves.items():
        for sampler in dict.fromkeys(r["sampler"] for r in rows):
            part = [r for r in rows if r["sampler"] == sampler]
            fig.add_trace(go.Scatter(x=[r["network_evaluations"] for r in part], y=[r["fd"] for r in part],
                                     mode="lines+markers", name=f"{model} · {sampler}",
                                     text=[f"{r['steps']} steps" for r in part],
                                     hovertemplate="%{text}: %{x} evaluations, FD %{y:.1f}<extra></extra>"))
    fig.update_layout(title="FD against sampler cost", xaxis_title="network evaluations per sample (log)",
                      yaxis_title="FD (log)", xaxis_type="log", yaxis_type="log", height=420,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    fig.update_xaxes(**log_ticks([r["network_evaluations"] for rows in curves.values() for r in rows]))
    fig.update_yaxes(**log_ticks([r["fd"] for rows in curves.values() for r in rows]))
    return fig
