import json

import numpy as np
import pytest
import torch

from genesis_core.store import checkpoint as ckpt


def test_nested_training_state_round_trips(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()},
             "step": 7, "nested": [1, (2.5, "x"), None]}
    folder = ckpt.save_checkpoint(tmp_path / "step_7", model.state_dict(), {"task": "t"}, state)
    back = ckpt.load_train_state(folder)
    opt2 = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    opt2.load_state_dict(back["optimizer"])
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9) and opt2.param_groups[0]["lr"] == 0.1
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert back["step"] == 7 and back["nested"] == [1, (2.5, "x"), None]
    assert np.array_equal(back["rng"]["numpy"][1], np.random.get_state()[1])
    assert torch.equal(ckpt.load_weights(folder)["weight"], model.weight.detach())


def test_components_load_on_their_own(tmp_path):
    weights = {"encoder.0.weight": torch.ones(2), "decoder.0.weight": torch.zeros(3)}
    folder = ckpt.save_checkpoint(tmp_path / "c", weights, {})
    assert list(ckpt.load_weights(folder, "encoder.")) == ["0.weight"]
    with pytest.raises(ckpt.CheckpointError, match="no component 'head'"):
        ckpt.load_weights(folder, "head.")


def test_files_are_safetensors_and_json_and_writes_are_atomic(tmp_path):
    folder = ckpt.save_checkpoint(tmp_path / "c", {"w": torch.ones(1)}, {"a": 1}, {"x": torch.ones(2)})
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.safetensors", "state.json",
                                                          "state.safetensors"]
    ckpt.save_checkpoint(tmp_path / "c", {"w": torch.zeros(1)}, {"a": 2})  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["c"]
    assert ckpt.read_meta(folder)["a"] == 2


def test_unknown_or_corrupt_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="not a checkpoint"):
        ckpt.read_meta(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ckpt.CheckpointError, match="not a Genesis Workbench checkpoint"):
        ckpt.read_meta(tmp_path)
    folder = ckpt.save_checkpoint(tmp_path / "c", {"w": torch.ones(1)}, {})
    (folder / "model.safetensors").write_bytes(b"\x80\x04garbage-not-a-pickle-we-would-load")
    with pytest.raises(ckpt.CheckpointError, match="missing or corrupt"):
        ckpt.load_weights(folder)


def test_unstorable_objects_are_refused():
    with pytest.raises(TypeError, match="cannot store object"):
        ckpt.flatten_state({"x": object()})


def test_a_tampered_meta_step_is_refused_naming_the_key(tmp_path):
    import json

    import pytest

    from genesis_core.store.checkpoint import CheckpointError, read_meta, save_checkpoint

    folder = save_checkpoint(tmp_path / "step_1", {"w": torch.zeros(2)}, {"step": 1})
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "step": "abc"}))
    with pytest.raises(CheckpointError, match="step"):
        read_meta(folder)


def test_leftovers_of_killed_checkpoint_writers_are_cleaned_on_the_next_start(tmp_path):
    from genesis_core.store.checkpoint import clean_partial_writes, save_checkpoint

    ckpts = tmp_path / "checkpoints"
    save_checkpoint(ckpts / "step_00000010", {"w": torch.zeros(2)}, {"step": 10})
    dead = 2**22 + 12345  # above pid_max's default: no process has it
    (ckpts / f".step_00000020.tmp-{dead}").mkdir()
    (ckpts / f".step_00000020.tmp-{dead}" / "model.safetensors").write_bytes(b"half")
    (ckpts / ".latest.abc123.tmp").write_text("step_00000020")
    removed = clean_partial_writes(ckpts)
    assert sorted(removed) == sorted([f".step_00000020.tmp-{dead}", ".latest.abc123.tmp"])
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_00000010"]
