"""The Audio -> Video page under AppTest: generate a track, render with a teacher, read the sync scores."""

from genesis_core.jobs import api
from tests.ui.pages import open_page
from tests.timeouts import scaled


def page(**query):
    return open_page("app_pages/av_lab.py", **query)


def test_render_a_generated_track_with_a_teacher_and_save_it(workspace):
    at = page().run()
    assert not at.exception
    at.number_input(key="av_seconds").set_value(4)
    at.selectbox(key="av_renderer").set_value("teacher: beat_pulse")
    at.selectbox(key="av_size").set_value(64)
    at.button(key="av_render").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["AV-Align (onsets ↔ motion peaks, ±1 frame)", "Teacher (reference)",
                          "Same video, shuffled audio (control)"]
    assert float(at.metric[0].value) > float(at.metric[2].value)
    assert any("Deliberate offsets" in c.value for c in at.caption)
    at.button(key="av_favorite").click().run()
    assert list((workspace.root / "favorites" / "av").glob("*.mp4"))


def test_train_button_submits_a_job(workspace):
    at = page().run()
    at.number_input(key="av_train_steps").set_value(20)
    at.button(key="av_train_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.task == "audio_to_video"
    api.cancel(job.id, workspace)
    assert api.wait(job.id, workspace, timeout=scaled(180)).status in ("cancelled", "succeeded")


def test_train_form_sends_the_clap_encoder_and_its_weights(workspace):
    at = page().run()
    assert at.text_input(key="av_train_clap").disabled
    at.selectbox(key="av_train_encoder").set_value("clap").run()
    at.text_input(key="av_train_clap").set_value(" random ")
    at.number_input(key="av_train_steps").set_value(10)
    at.button(key="av_train_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.config["model"]["audio_encoder"] == "clap" and job.config["model"]["clap_weights"] == "random"
    api.cancel(job.id, workspace)
    assert api.wait(job.id, workspace, timeout=scaled(180)).status in ("cancelled", "succeeded", "failed")


def test_the_shipped_model_renders_on_a_fresh_install(workspace):
    at = page().run()
    assert at.selectbox(key="av_renderer").value == "model: shipped"  # the default on first run
    at.number_input(key="av_seconds").set_value(3)
    at.button(key="av_render").click().run()
    assert not at.exception
    assert float(at.metric[0].value) > float(at.metric[2].value)  # model sync above the shuffled-audio control
    assert len(at.get("video")) >= 2  # the model's render, the teacher's, and the shipped favorites


def test_train_form_sends_a_folder_of_own_clips_and_says_when_there_is_none(workspace, tmp_path):
    at = page().run()
    at.radio(key="av_train_source").set_value("clips").run()
    assert at.selectbox(key="av_train_teacher").disabled
    at.text_input(key="av_train_folder").set_value(str(tmp_path / "nowhere"))
    at.button(key="av_train_submit").click().run()
    assert not at.exception and "is not a folder" in at.error[0].value and not api.list_jobs(workspace)
    (tmp_path / "clips").mkdir()
    at.text_input(key="av_train_folder").set_value(str(tmp_path / "clips"))
    at.number_input(key="av_train_steps").set_value(10)
    at.button(key="av_train_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.config["data"]["source"] == "clips" and job.config["data"]["clips"] == str(tmp_path / "clips")
    # the empty folder fails in the job with its one sentence, never on the page
    done = api.wait(job.id, workspace, timeout=scaled(180))
    assert done.status == "failed" and "no usable clip" in api.log_tail(done, workspace)
