"""The loss-dynamics page under AppTest, on real tiny runs."""

from genesis_core.jobs import api
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.ui.pages import open_page
from tests.vision.helpers import make_task
from tests.timeouts import scaled


def page(**query):
    return open_page("app_pages/lm_dynamics.py", **query)


def test_empty_page_starts_a_run_from_its_form(workspace):
    at = page().run()
    assert not at.exception and "No language-model run yet" in at.info[0].value
    at.multiselect(key="lm_languages").set_value(["en", "de"])
    at.number_input(key="lm_steps").set_value(50)
    at.text_input(key="lm_webhook").set_value("ftp://nowhere")
    at.button(key="lm_submit").click().run()
    assert not at.exception and "webhook must be an http" in at.error[0].value and not api.list_jobs(workspace)
    at.text_input(key="lm_webhook").set_value("")
    at.radio(key="lm_optimizer").set_value("muon")
    at.selectbox(key="lm_spike_action").set_value("skip")
    at.button(key="lm_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.config["data"]["languages"] == ["en", "de"] and job.config["trainer"]["auto_resume"] == 2
    assert job.config["optimizer"] == "muon" and job.config["analytics"]["spike_action"] == "skip"
    assert any(b.key == f"lm_stop_{job.id}" for b in at.button)  # the new run is shown, with a Stop button
    at.button(key=f"lm_stop_{job.id}").click().run()
    assert api.wait(job.id, workspace, timeout=scaled(120)).status in ("cancelled", "succeeded")


def test_curves_events_languages_samples_and_hyperparameters(workspace):
    runs = []
    for lr in (3e-3, 1e-7):  # the second one plateaus and gets stunned
        cfg = tiny_lm(name=f"lr {lr:g}", trainer={"steps": 60, "lr": lr, "warmup_steps": 0, "eval_every": 60,
                                                   "preview_every": 60, "checkpoint_every": 0},
                      stun={"patience": 15, "duration": 5, "recovery_steps": 5, "cooldown": 20})
        run = workspace.create_run("language_model", cfg, name=cfg["name"])
        Trainer(make_task(cfg), run).fit()
        runs.append(run)
    at = page(run=runs[1].id).run()
    assert not at.exception
    at.multiselect(key="lm_runs").set_value([runs[0].id, runs[1].id]).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # curves, LR, bits per byte
    frames = [d.value for d in at.dataframe]
    events = next(f for f in frames if "kind" in f)
    assert "stun" in events["kind"].tolist() and set(events["run"]) <= {"lr 0.003", "lr 1e-07"}
    phases = next(f for f in frames if "opened_by" in f)  # the stunned run is cut at its stun
    assert phases["opened_by"].tolist()[0] == "start" and "stun" in phases["opened_by"].tolist()
    since = [m for m in at.metric if "since the stun" in m.label]
    assert since and since[0].value.startswith(("+", "-"))
    params = next(f for f in frames if "trainer.lr" in f)
    assert params["trainer.lr"].tolist() == [0.003, 1e-07]
    assert any("[en]" in c.value for c in at.code)  # what the model writes
    at.radio(key="lm_axis").set_value("tokens").run()
    assert not at.exception
    at.radio(key="lm_axis").set_value("wall time").run()
    assert not at.exception


def test_pair_task_scores_and_the_submorphemic_evaluation(workspace):
    cfg = tiny_lm(name="with pairs", data={"languages": ["en", "de"],
                                           "pair_tasks": {"paraphrase": 0.5, "reference": 0.5, "segment_bytes": 24,
                                                          "span_bytes": 8, "eval_pairs": 64}},
                  trainer={"steps": 30, "eval_every": 30, "checkpoint_every": 30, "preview_every": 0})
    run = workspace.create_run("language_model", cfg, name=cfg["name"])
    Trainer(make_task(cfg), run).fit()
    at = page(run=run.id).run(timeout=scaled(60))
    assert not at.exception
    pairs = next(d.value for d in at.dataframe if "auc" in d.value)
    assert sorted(pairs["task"]) == ["paraphrase", "reference"] and pairs["auc"].between(0, 1).all()
    at.number_input(key="lm_morph_stems").set_value(8)
    at.button(key="lm_morph_go").click().run(timeout=scaled(120))
    assert not at.exception
    per_language = next(d.value for d in at.dataframe if "trigram_gain_bits" in d.value and "suffix" not in d.value)
    assert per_language["language"].tolist() == ["en", "de"] and (per_language["items"] > 0).all()
    assert any(c.proto.spec and "Suffix gain" in c.proto.spec for c in at.get("plotly_chart"))


def test_the_start_form_sends_pair_task_weights(workspace):
    at = page().run()
    at.toggle(key="lm_pairs_on").set_value(True).run()
    at.number_input(key="lm_pair_coherence").set_value(0.3)
    at.number_input(key="lm_steps").set_value(20)
    at.button(key="lm_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    sent = job.config["data"]["pair_tasks"]
    assert (sent["coherence"], sent["reference"], sent["paraphrase"]) == (0.3, 0.1, 0.1)
    api.cancel(job.id, workspace)
    assert api.wait(job.id, workspace, timeout=scaled(120)).status in ("cancelled", "succeeded", "failed")
