from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from genesis_core.config import ConfigError, apply_overrides, from_dict, read_mapping, to_dict, write_mapping


@dataclass(frozen=True)
class Inner:
    width: int = 8
    act: Literal["relu", "gelu"] = "relu"


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    lr: float = 1e-3
    sizes: tuple[int, ...] = (2, 4)
    note: Optional[str] = None
    inner: Inner = field(default_factory=lambda: Inner(width=16))


def test_round_trip_every_format(tmp_path):
    cfg = from_dict(Outer, {"name": "run", "sizes": [1, 2, 3], "inner": {"act": "gelu"}})
    for suffix in (".yaml", ".toml", ".json"):
        path = tmp_path / f"cfg{suffix}"
        write_mapping(to_dict(cfg), path)
        assert from_dict(Outer, read_mapping(path)) == cfg


def test_partial_section_keeps_the_configs_own_defaults():
    cfg = from_dict(Outer, {"inner": {"act": "gelu"}})
    assert cfg.inner == Inner(width=16, act="gelu")  # 16 is Outer's default, not Inner's 8


def test_int_promotes_to_float_and_tuple_is_kept():
    cfg = from_dict(Outer, {"lr": 1, "sizes": [3]})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.sizes == (3,)


@pytest.mark.parametrize("data, message", [
    ({"nmae": "x"}, "nmae: unknown key for Outer"),
    ({"lr": "fast"}, "lr: expected a number, got 'fast'"),
    ({"inner": {"width": 2.5}}, "inner.width: expected an integer, got 2.5"),
    ({"inner": {"act": "tanh"}}, "inner.act: expected one of ['relu', 'gelu'], got 'tanh'"),
    ({"inner": {"depth": 3}}, "inner.depth: unknown key for Inner"),
    ({"sizes": ["a"]}, "sizes[0]: expected an integer"),
    ({"name": True}, "name: expected a string"),
])
def test_errors_name_the_key_and_what_was_expected(data, message):
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, data)
    assert message in str(err.value)


def test_overrides_parse_values_as_yaml_and_reach_nested_keys():
    data = apply_overrides({"inner": {"width": 1}}, ["inner.width=32", "lr=3e-4", "sizes=[1, 2]", "note=hi"])
    cfg = from_dict(Outer, data)
    assert cfg.inner.width == 32 and cfg.lr == 3e-4 and cfg.sizes == (1, 2) and cfg.note == "hi"
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, ["lr"])
    with pytest.raises(ConfigError, match="name is not a section"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_text_from_a_page_parses_like_a_file():
    from genesis_core.config import parse_mapping

    assert parse_mapping("a: 1\nb: [x]\n") == {"a": 1, "b": ["x"]}
    with pytest.raises(ConfigError, match="the config: not valid YAML"):
        parse_mapping("a: [1, 2")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_mapping("- 1\n- 2\n")


def test_bad_files_fail_with_one_sentence(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_mapping(bad)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        read_mapping(tmp_path / "list.json")
    (tmp_path / "cfg.ini").write_text("[a]\nb = 1\n")
    with pytest.raises(ConfigError, match="unknown config format"):
        read_mapping(tmp_path / "cfg.ini")
    with pytest.raises(ConfigError, match="cannot read config file"):
        read_mapping(tmp_path / "missing.yaml")


def test_configs_are_frozen():
    cfg = Outer()
    with pytest.raises(Exception):
        cfg.lr = 1.0  # type: ignore[misc]


def test_validation_in_post_init_becomes_config_error(tiny_config):
    from genesis_core.registry import task_config as validate_config

    tiny_config["trainer"]["steps"] = 0
    with pytest.raises(ConfigError, match="steps must be at least 1"):
        validate_config(tiny_config)
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        validate_config({"task": "nope"})


def test_every_task_dump_documents_each_key_and_reads_back_to_the_defaults():
    """`genesis config TASK` writes each key's allowed values and meaning above it; the commented YAML is still
    the task's defaults when read back."""
    import yaml

    from genesis_core.config import to_dict
    from genesis_core.config_docs import commented_yaml, doc_for, field_docs
    from genesis_core.registry import TASKS

    for name in TASKS.names():
        cls = TASKS.get(name).config_cls
        try:
            defaults = to_dict(cls())
        except ValueError:  # a task with a required field (a sweep's space) has no defaults to dump
            continue
        text = commented_yaml(defaults, cls)
        assert yaml.safe_load(text) == defaults, name
        keys = [d.key for d in field_docs(cls)]
        assert len(keys) == len(set(keys))
    from genesis_core.vision.tasks.restoration import ImageRestorationConfig
    from genesis_core.vision.tasks.autoencoders import ImageAutoencoderConfig

    tracker = doc_for(ImageAutoencoderConfig, "trainer.tracker")
    assert tracker.allowed == "tensorboard | mlflow | wandb | none" and "MLflow" in tracker.description
    corruptions = doc_for(ImageRestorationConfig, "corruptions")
    assert "kuwahara" in corruptions.allowed and "swirl" in corruptions.allowed
    assert "# tensorboard | mlflow | wandb | none" in commented_yaml(to_dict(ImageAutoencoderConfig()),
                                                                       ImageAutoencoderConfig)
    assert doc_for(ImageAutoencoderConfig, "trainer.early_stop_mode").allowed == "min | max"
