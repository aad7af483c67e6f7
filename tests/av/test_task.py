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
