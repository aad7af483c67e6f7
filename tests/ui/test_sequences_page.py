"""The sequences and related-tables page under AppTest: real jobs, their reports read back."""

from genesis_core.jobs import api
from tests.ui.pages import open_page
from tests.timeouts import scaled


def test_sequences_and_related_tables_run_as_jobs_and_their_reports_read_back(workspace):
    at = open_page("app_pages/tabular_related.py").run()
    assert not at.exception
    at.selectbox(key="seq_demo").set_value("elnino").run()
    assert any("61 sequences, 12–12 steps" in c.value for c in at.caption)
    at.selectbox(key="seq_gen").set_value("par")
    at.number_input(key="seq_epochs").set_value(5)
    at.button(key="seq_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    keys = next(t for t in at.text_area if t.key.startswith("rel_keys_"))
    assert keys.value == "travellers.individual:options.individual"  # SDV's detection, editable
    keys.set_value("travellers.individual:options.nope").run()
    assert "has no column 'nope'" in at.error[0].value
    at.text_area(key=keys.key).set_value("travellers.individual:options.individual").run()
    at.button(key="rel_submit").click().run()
    assert not at.exception
    jobs = api.list_jobs(workspace)
    assert len(jobs) == 2
    for job in jobs:
        final = api.wait(job.id, workspace, timeout=scaled(300))
        assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    options = at.selectbox(key="rel_run").options
    assert len(options) == 2
    for i, option in enumerate(options):
        at.selectbox(key="rel_run").select_index(i).run()
        assert not at.exception
        labels = {b.label for b in at.get("download_button")}
        assert "Report (JSON)" in labels and "Report (HTML)" in labels
        tables = [d.value for d in at.dataframe]
        if "sequences" in option:
            assert "Synthetic CSV" in labels and at.get("plotly_chart")
            figures = next(t for t in tables if "figure" in t.columns)
            assert figures["figure"].str.contains("Autocorrelation").any()
            assert figures["held-out real (the floor)"].notna().any()
        else:
            assert "Synthetic tables (zip of CSVs)" in labels
            rel = next(t for t in tables if "foreign_keys_resolve" in t.columns)
            assert rel["foreign_keys_resolve"].iloc[0] == 1.0
