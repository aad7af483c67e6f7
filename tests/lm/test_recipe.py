"""The modern recipe: Muon on the hidden matrices (AdamW on the rest) trains, saves and resumes exactly; torch.compile
is used when it can be and says why once when it cannot."""

import threading

import pytest
import torch

from genesis_core.store.metrics import MetricsReader
from genesis_core.training import trainer as trainer_module
from genesis_core.training.optim import CombinedOptimizer
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.training.test_trainer import StopAt
from tests.vision.helpers import make_task


def losses(run):
    return MetricsReader(run.metrics_path).series("loss").set_index("step")["value"].to_dict()


def test_a_config_that_names_no_optimizer_gets_muon_at_the_tuned_rates():
    from genesis_core.config import from_dict
    from genesis_core.lm import defaults
    from genesis_core.lm.task import LanguageModelConfig, LanguageModelTask

    cfg = tiny_lm()
    del cfg["optimizer"], cfg["trainer"]["lr"]
    config = from_dict(LanguageModelConfig, cfg)
    assert (config.optimizer, config.muon_lr, config.trainer.lr) == (defaults.OPTIMIZER, defaults.MUON_LR, defaults.LR)
    assert defaults.OPTIMIZER == "muon"
    task = LanguageModelTask(config, torch.device("cpu"))
    opt = task.build_optimizer(task.build_model())
    assert isinstance(opt, CombinedOptimizer) and isinstance(opt.optimizers[1], torch.optim.Muon)
    assert opt.optimizers[1].param_groups[0]["lr"] == defaults.MUON_LR


def test_muon_trains_the_hidden_matrices_and_resumes_exactly(workspace):
    cfg = tiny_lm(optimizer="muon", trainer={"steps": 60, "checkpoint_every": 20, "eval_every": 60,
                                             "preview_every": 0})
    straight_run = workspace.create_run("language_model", cfg)
    straight = Trainer(make_task(cfg), straight_run)
    opt = straight.optimizer
    assert isinstance(opt, CombinedOptimizer) and isinstance(opt.optimizers[1], torch.optim.Muon)
    muon_params = {id(p) for g in opt.optimizers[1].param_groups for p in g["params"]}
    names = {n for n, p in straight.model.named_parameters() if id(p) in muon_params}
    assert names and all(n.startswith("blocks.") and n.endswith(".weight") for n in names)
    assert "embed.weight" not in names  # embeddings (tied to the head) stay with AdamW
    result = straight.fit()
    assert result.eval_metrics["eval/bpb"] < result.eval_metrics["eval/unigram_bpb"]

    run = workspace.create_run("language_model", cfg)
    stop = threading.Event()
    first = Trainer(make_task(cfg), run, stop_event=stop)
    first.callbacks.append(StopAt(30, stop))
    assert first.fit().reason == "cancelled"
    assert Trainer(make_task(cfg), run, resume=True).fit().reason == "finished"
    a, b = losses(straight_run), losses(run)
    assert a.keys() == b.keys()
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-7), step


def test_compile_says_why_once_when_it_cannot_and_trains_eager(workspace, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)  # no C compiler on this "machine"
    cfg = tiny_lm(trainer={"steps": 20, "compile": True, "eval_every": 20, "checkpoint_every": 0,
                           "preview_every": 0})
    run = workspace.create_run("language_model", cfg)
    t = Trainer(make_task(cfg), run)
    assert "needs a C compiler" in t.compile_note and t.train_model is t.eager_model
    t.fit()
    start = MetricsReader(run.metrics_path).events()["message"].iloc[0]
    assert "needs a C compiler" in start


@pytest.mark.slow
def test_compile_trains_the_compiled_model_on_the_cpu(workspace):
    cfg = tiny_lm(trainer={"steps": 30, "compile": True, "eval_every": 30, "checkpoint_every": 0,
                           "preview_every": 0})
    run = workspace.create_run("language_model", cfg)
    t = Trainer(make_task(cfg), run)
    assert t.train_model is not t.eager_model and t.compile_note == ""
    result = t.fit()
    events = MetricsReader(run.metrics_path).events()
    assert "compile" not in set(events["kind"])  # it compiled, no fallback
    curve = list(losses(run).values())
    assert result.step == 30 and curve[-1] < curve[0] - 0.3  # and it learns


def test_compile_for_training_on_mps_is_eager():
    model = torch.nn.Linear(2, 2)
    compiled, note = trainer_module.compile_for_training(model, torch.device("mps"))
    assert compiled is model and "MPS" in note
