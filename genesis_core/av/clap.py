"""The CLAP audio encoder (LAION-CLAP's HTS-AT, `laion-clap`) for the audio-to-video net, frozen.

`model.audio_encoder: clap` with `model.clap_weights`:
  - a local LAION-CLAP checkpoint: `630k-best.pt` or `630k-audioset-best.pt` (the non-fusion HTSAT-tiny ones, from
    https://huggingface.co/lukewys/laion_clap), read with `torch.load(weights_only=True)` (tensors only, nothing
    else unpickled), or the same weights as `.safetensors`; only the audio branch is kept;
  - `random`: the same network randomly initialised (seeded), for tests and for timing.
Nothing is downloaded: the package's own import would fetch tokenizers from the Hugging Face hub, so only its
model modules are imported (no text branch, no tokenizer).

The encoder hears each frame's samples (the features carry them), resamples the track to 48 kHz, runs HTS-AT over
windows of 10 s, and gives its fine-grained (1,024 steps per 10 s) 768-wide embedding, interpolated to the video
frames. Audio shorter than a window is repeated to 10 s first (CLAP's "repeatpad"), so HTS-AT hears it at
its own time scale, and only the steps of the real audio are kept.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

CLAP_RATE = 48_000
CLAP_WINDOW = 10 * CLAP_RATE  # HTS-AT's clip: 10 s
CLAP_DIM = 768
NEEDS = ("the 'clap' audio encoder needs the laion-clap package (./workbench installs it: pip install --no-deps "
         "laion-clap==1.1.7 plus torchlibrosa, librosa, transformers, ftfy, regex) and model.clap_weights: a local "
         "630k-best.pt / 630k-audioset-best.pt (or .safetensors) file, or 'random'")


def _clap_modules():
    """laion_clap's model modules, imported without the package's __init__ (which downloads tokenizers)."""
    spec = importlib.util.find_spec("laion_clap")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(NEEDS + "; laion-clap is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    if str(root) not in sys.path:
        sys.path.append(str(root))  # its modules import each other as the top-level package `clap_module`
    try:
        from clap_module.htsat import create_htsat_model
        from clap_module.model import CLAPAudioCfp
    except ImportError as exc:
        raise ValueError(f"{NEEDS}; importing it failed ({exc})") from exc
    config = json.loads((root / "clap_module" / "model_configs" / "HTSAT-tiny.json").read_text())
    return create_htsat_model, CLAPAudioCfp(**config["audio_cfg"])


def _audio_state(path: Path) -> dict[str, torch.Tensor]:
    """The audio branch's tensors from a LAION-CLAP checkpoint (tensors only: weights_only) or safetensors."""
    state: Any
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"model.clap_weights {path.name} is not a LAION-CLAP checkpoint of tensors "
                             f"({type(exc).__name__}); give 630k-best.pt or a .safetensors file") from exc
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ValueError(f"model.clap_weights {path.name} holds no state dict")
    out = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key.startswith("audio_branch.") and isinstance(value, torch.Tensor):
            out[key.removeprefix("audio_branch.")] = value
    if not out:
        raise ValueError(f"model.clap_weights {path.name} has no audio_branch.* weights: not a CLAP checkpoint")
    return out


class ClapEncoder(nn.Module):
    """(B, T, F) features whose last `samples_per_frame` columns are each frame's samples -> (B, T, width): the
    frozen HTS-AT embedding of the audio, per frame, projected and added to `mel` over the other columns."""

    def __init__(self, weights: str, mel: nn.Module, samples_per_frame: int, sample_rate: int, width: int):
        super().__init__()
        if not weights:
            raise ValueError(NEEDS + "; model.clap_weights is empty")
        create, audio_cfg = _clap_modules()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.htsat = create(audio_cfg, False, "None")
        if weights != "random":
            path = Path(weights).expanduser()
            if not path.is_file():
                raise ValueError(f"model.clap_weights {weights} does not exist; {NEEDS}")
            missing, _ = self.htsat.load_state_dict(_audio_state(path), strict=False)
            if [k for k in missing if "num_batches_tracked" not in k]:
                raise ValueError(f"model.clap_weights {path.name} lacks {len(missing)} of the audio branch's "
                                 "weights (a fusion checkpoint? use the non-fusion 630k-best.pt)")
        self.htsat.requires_grad_(False).eval()
        self.samples_per_frame, self.sample_rate = samples_per_frame, sample_rate
        self.mel = mel  # the network over the other feature columns (the model's MelCNN)
        self.proj = nn.Linear(CLAP_DIM, width)

    def train(self, mode: bool = True):
        super().train(mode)
        self.htsat.eval()  # frozen: batch norm and dropout stay in inference mode
        return self

    @torch.no_grad()
    def embed(self, wave: torch.Tensor, frames: int) -> torch.Tensor:
        """(B, N) samples at self.sample_rate -> (B, frames, 768)."""
        import torchaudio

        x = torchaudio.functional.resample(wave.float(), self.sample_rate, CLAP_RATE)
        parts = []
        for start in range(0, x.shape[1], CLAP_WINDOW):
            chunk = x[:, start:start + CLAP_WINDOW]
            n = chunk.shape[1]
            if n < CLAP_WINDOW:  # repeated to 10 s, as CLAP's own "repeatpad" fills short audio: HTS-AT would
                chunk = chunk.repeat(1, -(-CLAP_WINDOW // n))[:, :CLAP_WINDOW]  # otherwise stretch it in time
            out = self.htsat({"waveform": chunk}, mixup_lambda=None, device=x.device)["fine_grained_embedding"]
            parts.append(out[:, :max(1, round(out.shape[1] * n / CLAP_WINDOW))])  # the steps of the real audio
        z = torch.cat(parts, 1).transpose(1, 2)
        return F.interpolate(z, size=frames, mode="linear", align_corners=False).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        wave = x[..., -self.samples_per_frame:].reshape(b, t * self.samples_per_frame)
        return self.mel(x[..., :-self.samples_per_frame]) + self.proj(self.embed(wave, t))
