"""The image-lab pages under AppTest, on real models trained in process into a real workspace."""

import pytest
from streamlit.testing.v1 import AppTest

from genesis_core.jobs import api
from genesis_core.store.workspace import Workspace
from tests.ui.pages import open_page
from tests.vision.helpers import config, train
from tests.timeouts import scaled


def app(page: str, **query) -> AppTest:
    return open_page(page, timeout=scaled(90), **query)


def image_captions(at: AppTest) -> list[str]:
    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return [img.caption for n in walk(at.main) if n.type == "image" for img in n.proto.imgs]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("vision-ui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENESIS_HOME", str(home))
        mp.setenv("GENESIS_DEVICE", "cpu")
        ws = Workspace(home)
        runs = {
            "ae": train(ws, config(steps=150, name="ae", model={"latent_dim": 6, "channels": 8}))[0],
            "ae2": train(ws, config(steps=150, name="ae2", model={"latent_dim": 4, "channels": 8},
                                    trainer={"seed": 3}))[0],
            "cvae": train(ws, config(steps=100, name="cvae", model={"latent_dim": 20, "channels": 8,
                                                                    "variational": True, "conditioning": "film"}))[0],
            "sweep": train(ws, config("bottleneck_sweep", steps=100, name="sweep", latent_sizes=[2, 8],
                                      model={"channels": 8}))[0],
            "restorer": train(ws, config("image_restoration", steps=60, name="restorer",
                                         corruptions=["noise", "mask"], model={"channels": 8, "blocks": 2}))[0],
        }
        yield ws, runs


def test_pages_without_models_say_what_to_do(workspace):
    for page, text in [("app_pages/vision_latent.py", "No trained image model yet"),
                       ("app_pages/vision_swap.py", "No trained image model yet"),
                       ("app_pages/vision_bottleneck.py", "No sweep yet"),
                       ("app_pages/vision_restoration.py", "No trained restorer yet")]:
        at = app(page).run()
        assert not at.exception, page
        assert any(text in i.value for i in at.info), page


def test_train_page_submits_one_job_or_all_four_strategies(workspace):
    at = app("app_pages/vision_train.py").run()
    assert not at.exception
    at.number_input(key="train_latent").set_value(4)
    at.number_input(key="train_steps").set_value(20)
    at.selectbox(key="train_dataset").set_value("sklearn_digits")
    at.run()
    proposed = at.text_input(key="train_name").placeholder  # the name the form proposes is the run's name
    assert proposed == "sklearn_digits conv AE z=4" and "model.latent_dim" in at.number_input(key="train_latent").help
    at.button(key="train_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    assert [j.name for j in api.list_jobs(workspace)] == [proposed]
    at.button(key="train_compare").click().run()
    jobs = api.list_jobs(workspace)
    strategies = sorted(j.config["model"]["conditioning"] for j in jobs)
    assert strategies == ["bias", "embedding", "film", "none", "onehot"]
    assert all(j.config["model"]["latent_dim"] == 4 and j.config["data"]["dataset"] == "sklearn_digits" for j in jobs)
    assert at.selectbox(key="train_posterior").disabled  # a plain autoencoder has no posterior to choose
    at.toggle(key="train_vae").set_value(True).run()
    at.selectbox(key="train_posterior").set_value("iaf").run()
    assert at.text_input(key="train_name").placeholder == "sklearn_digits conv VAE IAF z=4"
    at.button(key="train_submit").click().run()
    jobs = api.list_jobs(workspace)
    (iaf,) = [j for j in jobs if j.config["model"].get("posterior") == "iaf"]
    assert iaf.config["model"]["variational"] is True
    for job in jobs:
        api.cancel(job.id, workspace)
    for job in jobs:
        assert api.wait(job.id, workspace, timeout=scaled(120)).status in ("cancelled", "succeeded")


def test_train_page_refuses_a_missing_folder_in_one_sentence(workspace):
    at = app("app_pages/vision_train.py").run()
    at.selectbox(key="train_dataset").set_value("image_folder").run()
    at.text_input(key="train_folder").input("/nowhere/at/all").run()
    assert not at.exception
    assert at.error[0].value == "There is no folder '/nowhere/at/all' on this machine."
    assert at.button(key="train_submit").disabled


def view(at: AppTest, key: str, name: str) -> AppTest:
    return at.button_group(key=key).set_value(name).run()


def test_latent_explorer_sliders_interpolation_projection_and_probe(lab):
    ws, runs = lab
    at = app("app_pages/vision_latent.py", model=runs["ae"].id).run()
    assert not at.exception
    sliders = [s for s in at.slider if s.key and s.key.startswith("axis_")]
    assert sorted(s.label for s in sliders) == [f"z[{i}]" for i in range(6)]  # one slider per dimension
    assert not at.metric  # only the open view runs: no projection or probe computed yet
    sliders[0].set_value(2.5).run()
    assert not at.exception and at.slider(key="axis_0").value == 2.5
    view(at, "latent_view", "Interpolation")
    assert not at.exception
    df = at.dataframe[0].value
    assert df["method"].tolist() == ["lerp", "slerp", "direction_slerp"] and (df["mean_step"] > 0).all()
    at.radio(key="interp_mode").set_value("two class means").run()
    assert not at.exception
    view(at, "latent_view", "Projection")
    trust = float(next(m.value for m in at.metric if m.label.startswith("Trustworthiness")))
    assert 0.5 < trust <= 1.0
    at.selectbox(key="proj_method").set_value("tsne").run()
    assert not at.exception and any("cannot place new points" in c.value for c in at.caption)
    view(at, "latent_view", "Classes: swap and probe")
    assert "Label probe accuracy (test)" in {m.label for m in at.metric}


def test_latent_explorer_uses_principal_axes_and_class_swap_for_a_conditional_vae(lab):
    ws, runs = lab
    at = app("app_pages/vision_latent.py", model=runs["cvae"].id).run()
    assert not at.exception
    names = {s.label for s in at.slider if s.key and s.key.startswith("axis_")}
    assert names == {f"PC{i}" for i in range(1, 17)}  # 20 dimensions -> 16 principal axes
    assert at.selectbox(key="slider_class") is not None
    view(at, "latent_view", "Classes: swap and probe")
    assert any("each image's z decoded as class" in c for c in image_captions(at))


def test_swap_page_scores_a_pair_fills_the_matrix_and_says_when_a_is_b(lab):
    import time

    ws, runs = lab
    at = app("app_pages/vision_swap.py").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Swap vs B's own reconstruction", "Swap vs original", "B's own vs original (reference)"]
    assert all(m.value.endswith(" dB") for m in at.metric)
    assert not at.get("plotly_chart")  # the curve and the matrix only run when asked for
    view(at, "swap_view", "All pairs")
    assert not at.exception and len(at.get("plotly_chart")) == 1
    view(at, "swap_view", "Error against anchors")
    assert not at.exception and len(at.get("plotly_chart")) == 1
    again = app("app_pages/vision_swap.py").run()  # a fresh session: every analysis comes from the cache
    t0 = time.perf_counter()
    view(again, "swap_view", "All pairs")
    assert time.perf_counter() - t0 < 5 and len(again.get("plotly_chart")) == 1
    view(at, "swap_view", "Latent similarity")
    assert not at.exception and len(at.get("plotly_chart")) == 2  # CKA and mutual k-NN, side by side
    assert any("Baselines: CKA with rows shuffled" in c.value for c in at.caption)
    same = at.selectbox(key="swap_b").select_index(0).run()  # B := A (the first compatible model is A itself)
    assert not same.exception and any("the same model" in i.value for i in same.info)


def test_bottleneck_page_answers_the_minimum_size_question(lab):
    ws, runs = lab
    at = app("app_pages/vision_bottleneck.py").run()
    assert not at.exception
    at.number_input(key="sweep_target").set_value(5.0).run()
    assert "**2 dimensions**" in at.success[0].value
    at.number_input(key="sweep_target").set_value(60.0).run()
    assert "**none of the sizes tried**" in at.success[0].value


def test_restoration_page_restores_at_the_chosen_level(lab):
    ws, runs = lab
    at = app("app_pages/vision_restoration.py").run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Corrupted (identity) PSNR", "Restored PSNR", "Classical filter PSNR"]
    before = at.metric[0].value
    at.slider(key="restore_level").set_value(1.0).run()
    assert not at.exception and at.metric[0].value != before  # more damage at a higher level
    at.selectbox(key="restore_kind").set_value("mask").run()
    assert not at.exception and len(at.get("plotly_chart")) == 2


def test_restoration_page_applies_reverses_and_shows_the_cycle_matrix(workspace):
    train(workspace, config("image_restoration", steps=30, name="both", corruptions=["posterise", "swirl"],
                            direction="both", model={"channels": 8, "blocks": 1}))
    at = app("app_pages/vision_restoration.py").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Corrupted (identity) PSNR", "Restored PSNR", "Classical filter PSNR"]
    assert labels[3:] == ["Network vs the exact procedure", "Untouched image vs the exact procedure (baseline)"]
    assert len(at.get("plotly_chart")) == 3  # the curve, the level mismatch and the apply -> reverse cycle
    at.radio(key="restore_direction").set_value("apply")
    at.multiselect(key="restore_kinds").set_value(["halftone", "kuwahara"])
    at.button(key="restore_submit").click().run()
    assert not at.exception
    (job,) = [j for j in api.list_jobs(workspace) if j.task == "image_restoration"]
    assert job.config["direction"] == "apply" and job.config["corruptions"] == ["halftone", "kuwahara"]
    api.cancel(job.id, workspace)


def test_train_page_scores_prior_samples_of_a_trained_model(lab):
    ws, runs = lab
    at = app("app_pages/vision_train.py").run()
    assert not at.exception
    cvae = next(e for e in at.selectbox(key="prior_model").options if "cvae" in e)
    at.selectbox(key="prior_model").select(cvae).run()
    at.button(key="prior_score").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["FD (lower is better)", "Precision", "Recall", "Class accuracy"]
    assert at.metric[3].value != "–"  # a conditional model is asked for classes
    assert any("samples from the VAE's N(0, I) prior" in c.value for c in at.caption)
