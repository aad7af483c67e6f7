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
