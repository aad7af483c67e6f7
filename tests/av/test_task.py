"""AudioToVideoNet trained for real on the procedural stream (tiny, CPU) and rendered."""

import pytest
import torch

from genesis_core.av.model import AudioToVideoConfig, AudioToVideoNet
from genesis_core.store.metrics import MetricsReader
from genesis_core.training.loading import load_model
from genesis_core.training.trainer import Trainer
from tests.vision.helpers import make_task

TINY_AV = {"task": "audio_to_video", "name": "tiny a2v",
           "data": {"clip": {"visualizer": "beat_pulse", "seconds": 3.0, "size": 16, "fps": 12},
                    "batch_size": 8, "workers": 1, "validation_clips": 4},
           "model": {"width": 64, "decoder_channels": 16},
           "trainer": {"steps": 150, "lr": 3e-3, "log_every": 10, "eval_every": 150, "checkpoint_every": 75,
                       "preview_every": 150, "device": "cpu", "tensorboard": False}}


def test_a_short_run_beats_the_mean_frame_and_the_shuffled_audio_control(workspace):
    run = workspace.create_run("audio_to_video", TINY_AV)
    result = Trainer(make_task(TINY_AV), run).fit()
    m = result.eval_metrics
    assert m["eval/psnr_db"] > m["eval/mean_frame_psnr_db"] + 0.5
    assert m["eval/av_align"] > m["eval/shuffled_av_align"]
    assert 0 <= MetricsReader(run.metrics_path).series("data_wait_share")["value"].iloc[-1] <= 1
    assert run.artifact_path("preview_validation.mp4").read_bytes()[4:8] == b"ftyp"
    loaded = load_model(run.id, workspace)
    frames = loaded.model.render(torch.rand(50, 34), chunk=20)
    assert frames.shape == (50, 3, 16, 16)


@pytest.mark.parametrize("bridge", ["none", "gru", "transformer"])
def test_parts_are_swappable(bridge):
    net = AudioToVideoNet(AudioToVideoConfig(bridge=bridge, width=32, decoder_channels=8), features=34, size=32)
    assert net(torch.rand(2, 10, 34)).shape == (2, 10, 3, 32, 32)


def test_clap_backend_fails_clearly_without_local_weights():
    with pytest.raises(ValueError, match="clap"):
        AudioToVideoNet(AudioToVideoConfig(audio_encoder="clap"), features=34, size=32)


@pytest.mark.slow
def test_the_favorites_builder_writes_a_new_folder_and_leaves_the_shipped_files_alone(tmp_path):
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    from tests.timeouts import scaled

    root = Path(__file__).resolve().parents[2]
    shipped = root / "favorites" / "av"

    def digest() -> dict:
        return {p.relative_to(shipped).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(shipped.rglob("*")) if p.is_file()}

    before = digest()
    out = tmp_path / "av-build"
    done = subprocess.run([sys.executable, str(root / "scripts" / "build_av_favorites.py"), "--steps", "2",
                           "--clips", "1", "--out", str(out)], capture_output=True, text=True, timeout=scaled(300))
    assert done.returncode == 0, done.stderr
    assert (out / "model" / "model.safetensors").exists() and len(list(out.glob("clip_*.mp4"))) == 1
    assert digest() == before  # the shipped model and clips are untouched
    again = subprocess.run([sys.executable, str(root / "scripts" / "build_av_favorites.py"), "--out", str(out)],
                           capture_output=True, text=True, timeout=scaled(120))
    assert again.returncode == 2 and "exists" in again.stderr


def test_the_phase_accumulators_carry_a_running_sum_across_render_chunks():
    """A rate that is 0.13 turns on each beat frame and 0 elsewhere makes phase = 0.13 x the beats so far (what
    beat_pulse's hue is); a chunked render continues each phase from the frames before its window."""
    from genesis_core.av.model import PhaseAccumulator

    import math

    acc = PhaseAccumulator(4, 2)
    x = torch.rand(1, 10, 4)
    assert torch.equal(acc(x)[0], x)  # untrained, its output is zero: the code passes unchanged
    beats = (torch.rand(1, 300, generator=torch.Generator().manual_seed(0)) > 0.9).float()
    h = torch.zeros(1, 300, 4)
    h[..., 0] = beats
    with torch.no_grad():  # rate = 0.5 sigmoid(28.95 * beat - 30): 0.13 on a beat, 5e-14 elsewhere
        acc.rate.weight.zero_()
        acc.rate.weight[:, 0] = 30 + math.log(0.26 / 0.74)
        acc.rate.bias.fill_(-30.0)
        acc.out.weight.zero_()
        acc.out.weight[1, 0] = 1.0  # sin of phase 0 -> feature 1
        acc.out.weight[2, 2] = 1.0  # cos of phase 0 -> feature 2
        out, rate = acc(h)
    angle = 2 * math.pi * 0.13 * torch.cumsum(beats, 1)
    assert torch.allclose(rate[..., 0], 0.13 * beats, atol=1e-6)
    assert torch.allclose(out[..., 1], angle.sin(), atol=1e-4) and torch.allclose(out[..., 2], angle.cos(), atol=1e-4)
    assert torch.equal(out[..., 0], beats)  # the code itself passes through
    net = AudioToVideoNet(AudioToVideoConfig(width=32, decoder_channels=8, phase_channels=4), features=34, size=16)
    with torch.no_grad():
        net.phase.out.weight.normal_(0, 1.0)  # make the phases show in the frames
    feats = torch.rand(400, 34, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = net(feats[None])[0]
    chunked = net.render(feats, chunk=50, context=400)  # context covers the track: equal to one pass
    assert (chunked - whole).abs().max() < 1e-4
    drifted = net.render(feats, chunk=50, context=20)  # short context: the bridge differs a little, the phase not
    assert (drifted - whole).abs().mean() < 0.02


def test_a_checkpoint_saved_before_the_phase_accumulators_loads_as_it_was_trained(workspace, tmp_path):
    """meta.json written before `phase_channels` existed has no such key: the model is rebuilt without them
    (not with the new default, whose weights the checkpoint does not hold)."""
    import json
    import shutil

    cfg = {**TINY_AV, "model": {**TINY_AV["model"], "phase_channels": 0},
           "trainer": {**TINY_AV["trainer"], "steps": 2, "eval_every": 2, "checkpoint_every": 2, "preview_every": 0}}
    run = workspace.create_run("audio_to_video", cfg)
    Trainer(make_task(cfg), run).fit()
    old = tmp_path / "old"
    shutil.copytree(run.latest_checkpoint(), old)
    meta = json.loads((old / "meta.json").read_text())
    del meta["config"]["model"]["phase_channels"]
    del meta["config"]["colour_weight"]
    (old / "meta.json").write_text(json.dumps(meta))
    loaded = load_model(old)
    assert loaded.model.phase is None and loaded.config.model.phase_channels == 0
    assert loaded.config.colour_weight == 0  # trained on pixels only, as such models were
    assert loaded.model.render(torch.rand(30, 34), chunk=10).shape == (30, 3, 16, 16)


def test_colour_scores_tell_a_grey_video_from_the_teacher():
    from genesis_core.av.task import colour_scores

    teacher = torch.zeros(5, 3, 8, 8)
    teacher[:, 0] = 0.9  # red frames
    same = colour_scores(teacher, teacher)
    assert same["colour_error"] == 0
    grey = colour_scores(teacher.mean(1, keepdim=True).expand_as(teacher), teacher)
    assert abs(grey["colour_error"] - grey["grey_colour_error"]) < 1e-6 and grey["colour_error"] > 0.3
    teacher[:, :, :, 4:] = 0  # an edge: a blurred copy is less sharp
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(teacher, (1, 1, 1, 1), mode="replicate"), 3, 1)
    assert colour_scores(blurred, teacher)["sharpness_ratio"] < 0.9
