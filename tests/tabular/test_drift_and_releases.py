"""Drift tests (false discoveries controlled, real shifts found), release records with lineage, their diff and the
compliance evidence, through the CLI on real tables that ship offline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genesis_core.cli.commands import main
from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.releases.drift import drift_report


@pytest.mark.parametrize("name", ["penguins", "fair", "wine"])
def test_two_random_halves_of_one_table_flag_almost_nothing(name):
    df = load_demo(name)
    flagged, tests = 0, 0
    for seed in range(8):
        order = np.random.default_rng(seed).permutation(len(df))
        r = drift_report(df.iloc[order[: len(df) // 2]], df.iloc[order[len(df) // 2:]], seed=seed)
        flagged += len(r["drifted"])
        tests += len(r["columns"])
    assert flagged <= 1, f"{flagged} of {tests} column verdicts flagged between halves of one table"


def test_a_shifted_column_and_a_missing_share_change_are_found_and_nothing_else():
    df = load_demo("fair")
    order = np.random.default_rng(0).permutation(len(df))
    ref, cur = df.iloc[order[:3000]].copy(), df.iloc[order[3000:]].copy()
    cur["age"] = cur["age"] + 2.0  # a shift of about a third of the age's spread
    cur.loc[cur.sample(frac=0.15, random_state=0).index, "religious"] = np.nan
    r = drift_report(ref, cur.drop(columns=["occupation"]).assign(extra=1))
    assert set(r["drifted"]) == {"age", "religious", "occupation", "extra"}
    by = {c["column"]: c for c in r["columns"]}
    assert by["age"]["test"] == "KS" and by["age"]["p_adjusted"] < 1e-6
    assert abs(by["religious"]["missing_change"] - 0.15) < 0.03 and by["religious"]["drifted"]
    assert r["columns_removed"] == ["occupation"] and r["columns_added"] == ["extra"]
    assert r["table"]["drifted"] and r["table"]["auc"] > 0.55


def test_drift_cli_prints_json_whose_drifted_lists_columns(workspace, tmp_path, capsys):
    df = load_demo("penguins")
    df.to_csv(tmp_path / "ref.csv", index=False)
    moved = df.assign(body_mass_g=df["body_mass_g"] * 1.2)
    moved.to_csv(tmp_path / "cur.csv", index=False)
    assert main(["drift", "-r", str(tmp_path / "ref.csv"), "-c", str(tmp_path / "cur.csv"), "--json",
                 "-o", str(tmp_path / "drift.html")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["drifted"] == ["body_mass_g"]
    assert "Drift report" in (tmp_path / "drift.html").read_text()
    assert main(["drift", "-r", str(tmp_path / "ref.csv"), "-c", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_synthesis_writes_a_release_and_releases_diff_and_evidence(workspace, tmp_path, capsys):
    src = tmp_path / "penguins.csv"
    load_demo("penguins").to_csv(src, index=False)
    for seed, extra in ((0, []), (1, ["--quasi-identifiers", "island,sex", "--sensitive", "species"])):
        assert main(["generate", "-i", str(src), "-o", str(tmp_path / f"s{seed}.csv"), "-m", "gaussian_copula",
                     "--holdout-fraction", "0.2", "--seed", str(seed), *extra]) == 0
    capsys.readouterr()
    assert main(["releases", "list", "--json"]) == 0
    second, first = json.loads(capsys.readouterr().out)
    assert (first["version"], second["version"]) == (1, 2) and second["lineage"]["parent"] == first["id"]
    assert first["input"]["sha256"] == second["input"]["sha256"] and first["dataset"] == "penguins.csv"
    assert second["config"]["trainer"]["seed"] == 1 and second["seed"] == 1 and "sdv" in second["packages"]
    assert second["privacy"]["statement"].startswith("no differential privacy")
    assert main(["releases", "list"]) == 0
    listing = capsys.readouterr().out
    assert first["input"]["sha256"][:12] in listing and first["id"] in listing
    assert main(["releases", "diff", first["id"], second["id"]]) == 0
    text = capsys.readouterr().out
    assert "the second is the next version of the first" in text and "config.trainer.seed: 0 -> 1" in text
    assert main(["releases", "evidence", second["id"], "--json", "-o", str(tmp_path / "ev.html")]) == 0
    ev = json.loads(capsys.readouterr().out)
    k = next(r for r in ev["gdpr_recital_26"] if r["measure"].startswith("k-anonymity"))
    assert k["value"] >= 1 and "island" in k["measure"]
    assert not ev["identifiers_found"] and "not a certificate" in (tmp_path / "ev.html").read_text()
    assert main(["drift", "-r", str(src), "-c", f"release:{second['id']}", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["drifted"], list)
    (tmp_path / "s1.csv").write_text("changed\n")  # a release's rows changed afterwards: said, not used
    assert main(["drift", "-r", str(src), "-c", f"release:{second['id']}"]) == 2
    assert "changed since the release" in capsys.readouterr().err


def test_a_damaged_release_record_is_listed_as_damaged_never_used(workspace, capsys):
    from genesis_core.tabular.releases.records import releases_dir

    (releases_dir(workspace) / "rel-20260101-deadbeef.json").write_text("{not json")
    assert main(["releases", "list"]) == 0
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "no releases yet" in captured.out
    assert main(["releases", "show", "rel-20260101-deadbeef"]) == 2
    assert "damaged" in capsys.readouterr().err


def test_safe_harbor_finds_identifier_columns_by_type_and_name():
    from genesis_core.tabular.releases.evidence import safe_harbor

    found = {r["identifier"]: r for r in safe_harbor([
        {"column": "patient_id", "kind": "id"}, {"column": "email", "kind": "pii", "pii": "email"},
        {"column": "ZipCode", "kind": "categorical"}, {"column": "admission_date", "kind": "datetime"},
        {"column": "age", "kind": "numerical"}])}
    assert found["Email addresses"]["found"] and "replaced by fake values" in found["Email addresses"]["columns"][0]
    assert found["Any other unique identifying number, characteristic or code"]["found"]
    assert found["Geographic subdivisions smaller than a state (street, city, county, ZIP code)"]["found"]
    assert found["Dates (except year) directly related to an individual, and ages over 89"]["found"]
    assert not found["Social Security numbers"]["found"]


def test_tables_with_no_common_column_are_refused_and_partial_overlap_counts_every_column():
    import pandas as pd
    import pytest

    from genesis_core.tabular.releases.drift import drift_report
    from genesis_core.tabular.data.ingest import TableError

    a = pd.DataFrame({"x": range(50), "y": [i % 3 for i in range(50)]})
    b = pd.DataFrame({"u": range(50), "v": [i % 4 for i in range(50)]})
    with pytest.raises(TableError, match="share no column"):
        drift_report(a, b)
    report = drift_report(a, a.assign(z=1).drop(columns="y"))
    assert set(report["drifted"]) == {"y", "z"} and report["columns_compared"] == 3
