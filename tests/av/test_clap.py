"""The CLAP audio encoder (laion-clap's HTS-AT), randomly initialised as the issue asks: it trains in the
audio-to-video net, checkpoints and reloads, renders with sound, and reads LAION-format weights without
unpickling anything but tensors."""

import numpy as np
import pytest
import torch

from genesis_core.av.music import generate_track
from genesis_core.av.render import AudioError, render_audio
from genesis_core.training.loading import load_model
from genesis_core.training.trainer import Trainer
from tests.vision.helpers import make_task

CLAP = {"task": "audio_to_video", "name": "clap",
        "model": {"audio_encoder": "clap", "clap_weights": "random", "bridge": "gru", "width": 32,
                  "decoder_channels": 8},
        "data": {"batch_size": 2, "workers": 0, "validation_clips": 1, "clip": {"seconds": 2.0, "size": 16}},
        "trainer": {"steps": 2, "eval_every": 2, "checkpoint_every": 2, "preview_every": 0, "device": "cpu",
                    "tracker": "none"}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from genesis_core.store.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("clap-ws"))
    run = ws.create_run("audio_to_video", CLAP, name="clap")
    result = Trainer(make_task(CLAP), run).fit()
    return ws, run, result


def test_a_clap_model_trains_reloads_and_renders_with_sound(trained):
    ws, run, result = trained
    assert result.reason == "finished" and np.isfinite(result.eval_metrics["eval/psnr_db"])
    loaded = load_model(run.id, ws)
    model = loaded.model.eval()
    htsat = model.audio_encoder.htsat
    assert not any(p.requires_grad for p in htsat.parameters())  # frozen
    wave = generate_track(5, 3.0, 16000).wave
    out = render_audio(wave, 16000, 24.0, 32, model, 24.0)
    assert out["frames"] == 72 and out["mp4"][4:8] == b"ftyp" and 0 <= out["scores"]["av_align"] <= 1
    with pytest.raises(AudioError, match="frame rate it was trained at"):
        render_audio(wave, 16000, 30.0, 32, model, 24.0)


def test_laion_format_and_safetensors_weights_load_and_junk_is_one_sentence(trained, tmp_path):
    from safetensors.torch import save_file

    from genesis_core.av.clap import ClapEncoder
    from genesis_core.av.model import MelCNN

    ws, run, _ = trained
    htsat = load_model(run.id, ws).model.audio_encoder.htsat
    state = {k: v.clone() for k, v in htsat.state_dict().items()}
    with torch.no_grad():
        first = next(k for k, v in state.items() if v.is_floating_point())
        state[first] += 1.0  # weights that differ from the random initialisation
    laion = tmp_path / "630k-best.pt"
    torch.save({"epoch": 45, "state_dict": {f"module.audio_branch.{k}": v for k, v in state.items()}}, laion)
    enc = ClapEncoder(str(laion), MelCNN(34, 32), 667, 16000, 32)
    assert torch.equal(enc.htsat.state_dict()[first], state[first])
    st = tmp_path / "clap.safetensors"
    save_file({f"audio_branch.{k}": v.contiguous() for k, v in state.items()}, str(st))
    assert torch.equal(ClapEncoder(str(st), MelCNN(34, 32), 667, 16000, 32).htsat.state_dict()[first], state[first])

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a LAION-CLAP checkpoint"):
        ClapEncoder(str(junk), MelCNN(34, 32), 667, 16000, 32)
    with pytest.raises(ValueError, match="does not exist"):
        ClapEncoder(str(tmp_path / "missing.pt"), MelCNN(34, 32), 667, 16000, 32)
    other = tmp_path / "other.safetensors"
    save_file({"text_branch.w": torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match="no audio_branch"):
        ClapEncoder(str(other), MelCNN(34, 32), 667, 16000, 32)
