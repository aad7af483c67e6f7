"""The synthetic-data page under AppTest: bad uploads in one sentence, a real synthesis job, its report."""

from genesis_core.jobs import api
from tests.ui.pages import open_page


def page(**query):
    return open_page("app_pages/tabular_synth.py", **query)


def test_demo_synthesis_runs_as_a_job_and_the_report_reads_back(workspace):
    at = page().run()
    assert not at.exception
    schema = at.dataframe  # preview shown; the editor holds the inferred types
    assert schema
    at.selectbox(key="tab_target").set_value("species")
    at.multiselect(key="tab_quasi").set_value(["island", "sex"])
    at.multiselect(key="tab_sensitive").set_value(["species"])
    at.button(key="tab_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    final = api.wait(job.id, workspace, timeout=300)
    assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Overall quality" in labels and "Membership AUC (0.5 = no signal)" in labels
    assert "Train synthetic, test real" in labels
    assert {b.label for b in at.get("download_button")} >= {"Synthetic CSV", "Report (HTML)", "Report (JSON)"}
    at.number_input(key="tab_more_rows").set_value(321)
    at.button[[b.label for b in at.button].index("Sample")].click().run()  # the form's submit button
    assert not at.exception
    assert at.session_state["tab_more_csv"].decode().count("\n") == 322  # header + 321 rows
