import pytest

from genesis_core.store.files import UnsafePathError
from genesis_core.store.workspace import RunNotFoundError, Workspace


def test_runs_are_created_listed_filtered_tagged_and_deleted(tmp_path):
    ws = Workspace(tmp_path)
    a = ws.create_run("image_autoencoder", {"task": "image_autoencoder"}, name="alpha")
    b = ws.create_run("lm", {"task": "lm"}, name="beta", tags=["big"])
    assert {r.id for r in ws.list_runs()} == {a.id, b.id}
    assert [r.id for r in ws.list_runs(task="lm")] == [b.id]
    assert [r.id for r in ws.list_runs(tag="big")] == [b.id]
    assert [r.id for r in ws.list_runs(text="alph")] == [a.id]
    ws.add_tag(a.id, "keep")
    ws.set_favorite(a.id)
    assert [r.id for r in ws.list_runs(favorite=True)] == [a.id]
    assert ws.get_run(a.id).tags == ["keep"]
    assert ws.get_run(a.id).config() == {"task": "image_autoencoder"}
    ws.delete_run(b.id)
    assert [r.id for r in ws.list_runs()] == [a.id]
    with pytest.raises(RunNotFoundError):
        ws.get_run(b.id)


@pytest.mark.parametrize("run_id", ["../../etc", "..", "a/../../b", "/tmp"])
def test_run_ids_cannot_escape_the_workspace(tmp_path, run_id):
    ws = Workspace(tmp_path)
    with pytest.raises(UnsafePathError):
        ws.get_run(run_id)
    with pytest.raises(UnsafePathError):
        ws.delete_run(run_id)


def test_uploads_and_artifacts_stay_inside(tmp_path):
    ws = Workspace(tmp_path)
    p = ws.upload_path("../../evil.csv")
    assert p.parent == (tmp_path / "uploads").resolve() and p.name == "evil.csv"
    run = ws.create_run("t", {})
    assert run.artifact_path("../x.png").parent == run.artifacts_dir.resolve()


def test_a_latest_pointer_outside_the_run_is_not_followed(tmp_path):
    import json

    ws = Workspace(tmp_path / "ws")
    run = ws.create_run("t", {})
    elsewhere = tmp_path / "elsewhere" / "step_1"
    elsewhere.mkdir(parents=True)
    (elsewhere / "meta.json").write_text(json.dumps({"format": 1}))
    own = run.checkpoints_dir / "step_00000002"
    own.mkdir()
    (own / "meta.json").write_text(json.dumps({"format": 1}))
    for pointer in ("../../../elsewhere/step_1", str(elsewhere), "../step_00000002"):
        (run.checkpoints_dir / "latest").write_text(pointer)
        assert run.latest_checkpoint().resolve() == own.resolve()  # the run's own newest, never elsewhere
    (run.checkpoints_dir / "latest").write_text("step_00000002")
    assert run.latest_checkpoint().name == "step_00000002"


@pytest.mark.parametrize("content", ['{"id": "RUN", "created": "x"}', '["a", "list"]', "not json {",
                                     '{"id": "../../../etc", "created": 1}', '{"id": "RUN", "tags": "a"}'])
def test_a_malformed_run_json_is_listed_as_damaged_and_the_rest_still_show(tmp_path, content):
    ws = Workspace(tmp_path)
    good = ws.create_run("t", {}, name="good")
    bad = ws.create_run("t", {}, name="bad")
    (bad.dir / "run.json").write_text(content.replace("RUN", bad.id))
    runs = {r.id: r for r in ws.list_runs()}
    assert set(runs) == {good.id, bad.id}  # listed under its folder's name, never '../../../etc'
    assert not runs[good.id].damaged and runs[bad.id].damaged
    from genesis_core.store.workspace import RunDamagedError

    with pytest.raises(RunDamagedError, match="damaged"):
        ws.add_tag(bad.id, "x")
    ws.delete_run(bad.id)
    assert [r.id for r in ws.list_runs()] == [good.id]


def test_runs_list_shows_a_damaged_run_instead_of_a_traceback(workspace, capsys):
    from genesis_core.cli.commands import main

    bad = workspace.create_run("t", {})
    (bad.dir / "run.json").write_text('{"created": "x"}')
    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    assert bad.id in out and "damaged" in out
