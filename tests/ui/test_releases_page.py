"""The Releases and drift page under AppTest: releases written by real syntheses, their diff, evidence, and drift
between a demo table and a release's rows."""

from genesis_core.cli.commands import main
from tests.ui.pages import open_page


def frame_with(at, column: str):
    """The page's first table with that column (AppTest does not keep a table's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_releases_diff_evidence_and_drift_on_the_page(workspace, tmp_path, capsys):
    at = open_page("app_pages/tabular_releases.py").run()
    assert not at.exception and "No releases yet" in at.info[0].value
    for seed in (0, 1):
        assert main(["generate", "-i", "demo:penguins", "-o", str(tmp_path / f"s{seed}.csv"), "-m", "gaussian_copula",
                     "--holdout-fraction", "0.2", "--seed", str(seed), "--quasi-identifiers", "island,sex"]) == 0
    capsys.readouterr()
    at.run()
    assert not at.exception
    listing = frame_with(at, "input sha256")
    assert len(listing) == 2 and set(listing["version"]) == {1, 2} and listing["input sha256"].nunique() == 1
    gdpr = frame_with(at, "risk")
    assert {"singling out", "linkability", "inference"} <= set(gdpr["risk"])
    assert len(frame_with(at, "identifier")) == 18
    figures = frame_with(at, "figure")
    assert "eval/quality_score" in set(figures["figure"])
    changes = frame_with(at, "field")
    assert "config.trainer.seed" in set(changes["field"])
    assert any("Choose the current table" in i.value for i in at.info)  # never a table against itself by default
    assert not [m for m in at.metric if m.label == "Columns drifted"]
    at.selectbox(key="drift_cur_demo").set_value("penguins").run()
    assert any("same table" in i.value for i in at.info) and not at.exception
    at.selectbox(key="drift_cur_demo").set_value("wine").run()  # no column in common: refused in one sentence
    assert not at.exception and any("share no column" in e.value for e in at.error)
    assert not [m for m in at.metric if m.label == "Columns drifted"]
    at.radio(key="drift_cur_kind").set_value("release").run()
    sel = at.selectbox(key="drift_cur_release")
    sel.set_value(sel.options[0]).run()
    assert not at.exception
    assert at.metric[0].label == "Columns drifted" and " of 8" in at.metric[0].value
    table = frame_with(at, "p_adjusted")
    assert list(table["column"])[:2] == ["species", "island"] and table["p_adjusted"].notna().all()
