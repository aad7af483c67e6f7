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
