"""The language_model task trained for real (tiny, in process, CPU)."""

import threading

import pytest

from genesis_core.lm.evaluation import quick_eval
from genesis_core.store.metrics import MetricsReader
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.training.test_trainer import StopAt
from tests.vision.helpers import make_task


def fit(workspace, cfg, **kw):
    run = workspace.create_run("language_model", cfg)
    trainer = Trainer(make_task(cfg), run, **kw)
    return run, trainer, trainer.fit()


def test_a_tiny_model_beats_the_unigram_baseline_on_every_language(workspace):
    run, trainer, result = fit(workspace, tiny_lm())
    m = result.eval_metrics
    for lang in ("en", "de", "zh"):
        assert m[f"eval/bpb/{lang}"] < m[f"eval/unigram_bpb/{lang}"] - 0.3, lang
    samples = run.artifact_path("preview_samples.txt").read_text()
    assert samples.startswith("[en] ") and "⟦" in samples and "[zh] " in samples
    scalars = set(MetricsReader(run.metrics_path).keys())
    assert {"loss_ema", "loss_slope", "loss_min", "loss_max", "stagnation", "lr_multiplier", "tokens"} <= scalars
    verdict = quick_eval(run.id, workspace, eval_bytes=1024)
    assert verdict.go and list(verdict.table["language"]) == ["en", "de", "zh"]


def curves(run):
    df = MetricsReader(run.metrics_path).scalars(["loss", "loss_ema", "lr", "stagnation"])
    return df.set_index(["step", "key"])["value"].to_dict()


def test_kill_and_resume_continues_the_same_curve(workspace):
    cfg = tiny_lm(trainer={"steps": 120, "checkpoint_every": 40, "eval_every": 120, "preview_every": 0},
                  stun={"patience": 15, "duration": 5, "cooldown": 10}, analytics={"stagnation_threshold": 0.05})
    straight, _, _ = fit(workspace, cfg)

    run = workspace.create_run("language_model", cfg)
    stop = threading.Event()
    trainer = Trainer(make_task(cfg), run, stop_event=stop)
    trainer.callbacks.append(StopAt(55, stop))
    assert trainer.fit().reason == "cancelled"
    resumed = Trainer(make_task(cfg), run, resume=True)
    assert resumed.fit().reason == "finished"
    a, b = curves(straight), curves(run)
    assert a.keys() == b.keys() and len(a) > 40
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), key
    kinds = MetricsReader(run.metrics_path).events()["kind"].tolist()
    assert "resume" in kinds


def test_a_plateau_stuns_the_lr_and_logs_it(workspace):
    # lr 1e-7: the loss cannot move, so the EMA stops improving and the stun must fire
    cfg = tiny_lm(trainer={"steps": 80, "lr": 1e-7, "warmup_steps": 0, "eval_every": 80, "checkpoint_every": 0,
                           "preview_every": 0},
                  stun={"patience": 20, "factor": 0.1, "duration": 10, "recovery_steps": 10, "cooldown": 30})
    run, _, _ = fit(workspace, cfg)
    events = MetricsReader(run.metrics_path).events()
    stuns = events[events["kind"] == "stun"]
    assert len(stuns) >= 1 and "LR x0.1" in stuns.iloc[0]["message"]
    stagnation = events[events["kind"] == "stagnation"]  # the warning half-way to the stun
    assert len(stagnation) >= 1 and stagnation.iloc[0]["step"] < stuns.iloc[0]["step"]
    lr_mult = MetricsReader(run.metrics_path).series("lr_multiplier").set_index("step")["value"]
    first = int(stuns.iloc[0]["step"])
    after = lr_mult[(lr_mult.index > first) & (lr_mult.index <= first + 10)]
    assert (after == 0.1).any() and lr_mult.iloc[0] == 1.0


def test_masked_objective_ramps_its_curriculum_and_fills_in_text(workspace):
    cfg = tiny_lm(objective="masked", trainer={"steps": 60, "eval_every": 60, "preview_every": 60},
                  masking={"mask_rate_start": 0.1, "mask_rate_end": 0.3, "wwm_share_start": 0.0,
                           "wwm_share_end": 1.0, "wwm_ramp_steps": 50})
    run, _, result = fit(workspace, cfg)
    rate = MetricsReader(run.metrics_path).series("mask_rate")["value"].tolist()
    assert rate[0] < rate[-1] and rate[-1] == pytest.approx(0.3)
    assert "eval/bpb/en" in result.eval_metrics
    assert "filled:" in run.artifact_path("preview_samples.txt").read_text()
