"""The one place that picks the compute device (cuda > mps > cpu) and the precision."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

from genesis_core.errors import WorkbenchError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


class DeviceUnavailableError(WorkbenchError, RuntimeError):
    """The device that was asked for is not on this machine."""


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def pick_device(preference: str | None = None) -> torch.device:
    """Return the device to train on.

    `preference` is "auto" (default; also read from GENESIS_DEVICE), "cuda", "cuda:N", "mps" or "cpu".
    "auto" picks CUDA, then Apple's MPS, then the CPU. An explicit choice that is not available raises
    DeviceUnavailableError with one sentence saying so.
    """
    pref = (preference or os.environ.get("GENESIS_DEVICE") or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError("CUDA was asked for but no CUDA GPU is visible on this machine.")
        return torch.device(pref)
    if pref == "mps":
        if not _mps_available():
            raise DeviceUnavailableError("MPS was asked for but this machine has no Apple GPU.")
        return torch.device("mps")
    if pref == "cpu":
        return torch.device("cpu")
    raise DeviceUnavailableError(f"Unknown device {preference!r}; use one of {', '.join(DEVICE_CHOICES)}.")


@dataclass(frozen=True)
class Precision:
    """How to run the forward pass: autocast dtype (None means full float32)."""

    dtype: torch.dtype | None

    @property
    def name(self) -> str:
        return "fp32" if self.dtype is None else str(self.dtype).replace("torch.", "")

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)


def pick_precision(device: torch.device, preference: str = "auto") -> Precision:
    """bf16 autocast on CUDA GPUs that support it, float32 elsewhere (or as asked: "fp32", "bf16")."""
    if preference == "fp32":
        return Precision(None)
    if preference == "bf16":
        return Precision(torch.bfloat16)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return Precision(torch.bfloat16)
    return Precision(None)


def describe_device(device: torch.device | None = None) -> str:
    """A short human description, e.g. 'cuda:0 (NVIDIA H100, 80 GiB)' or 'cpu (2 threads)'."""
    device = device or pick_device()
    if device.type == "cuda":
        index = device.index or 0
        props = torch.cuda.get_device_properties(index)
        return f"cuda:{index} ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
    if device.type == "mps":
        return "mps (Apple GPU)"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'s' if n != 1 else ''})"
