import pytest
import torch

from genesis_core.device import DeviceUnavailableError, describe_device, pick_device, pick_precision


def test_auto_picks_the_best_available(monkeypatch):
    monkeypatch.delenv("GENESIS_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and torch.backends.mps.is_available():
        expected = "mps"
    assert pick_device().type == expected


def test_override_and_env(monkeypatch):
    monkeypatch.setenv("GENESIS_DEVICE", "cpu")
    assert pick_device().type == "cpu"
    assert pick_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_unavailable_device_is_one_sentence():
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(DeviceUnavailableError, match="Unknown device 'tpu'"):
        pick_device("tpu")


def test_precision_is_fp32_on_cpu_and_bf16_when_asked():
    cpu = torch.device("cpu")
    assert pick_precision(cpu).dtype is None
    assert pick_precision(cpu, "bf16").dtype is torch.bfloat16
    with pick_precision(cpu, "bf16").autocast(cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype is torch.bfloat16
    assert describe_device(cpu).startswith("cpu (")
