"""The Sweeps page under AppTest: a bad space in one sentence; a real sweep, its trials and the best config."""

from genesis_core.jobs import api
from tests.ui.pages import open_page
from tests.timeouts import scaled


def test_sweeps_page_starts_a_sweep_shows_its_trials_and_trains_the_best(workspace, monkeypatch):
    monkeypatch.setenv("GENESIS_MAX_JOBS_CPU", "2")
    at = open_page("app_pages/sweeps.py").run()
    assert not at.exception and any("No sweep yet" in i.value for i in at.info)
    at.text_area(key="sw_space_image_autoencoder").input("model.latent_dim: {int: [9, 3]}").run()
    at.button(key="sw_submit").click().run()
    assert not at.exception and "low must be below high" in at.error[0].value and not api.list_jobs(workspace)
    at.text_area(key="sw_space_image_autoencoder").input("model.latent_dim: {int: [2, 8]}").run()
    at.text_area(key="sw_base_image_autoencoder").input(
        "data: {dataset: sklearn_digits, batch_size: 32}\nmodel: {arch: mlp, hidden: 32}\n"
        "trainer: {steps: 30, eval_every: 15, device: cpu, tensorboard: false}").run()
    at.number_input(key="sw_trials").set_value(2)
    at.button(key="sw_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    driver = next(j for j in api.list_jobs(workspace) if j.task == "sweep")
    assert api.wait(driver.id, workspace, timeout=scaled(300)).status == "succeeded"
    at.run()
    assert not at.exception
    trials = next(d.value for d in at.dataframe if "state" in d.value.columns)
    assert len(trials) == 2 and set(trials["state"]) == {"complete"}
    assert any(s.value.startswith("Best so far") for s in at.success)
    at.button(key=f"sw_best_{driver.run_id}").click().run()
    best = [j for j in api.list_jobs(workspace) if j.name.startswith("best of")]
    assert len(best) == 1 and best[0].config["model"]["latent_dim"] in range(2, 9)
    api.cancel(best[0].id, workspace)
