import json
import shutil

import numpy as np
import pytest

from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.single_table.base import GeneratorError, TabularGenerator, make_generator
from genesis_core.tabular.single_table.constraints import Inequality, Range
from genesis_core.tabular.single_table.sdv import sdv_used_directly
from genesis_core.tabular.pipeline import split_holdout
from genesis_core.tabular.evaluation.privacy import enforce_k_anonymity, k_anonymity, privacy_report
from genesis_core.tabular.evaluation.quality import column_kinds, quality_report


def demo(name):
    raw = load_demo(name)
    return raw, sch.infer_schema(raw)


def typed(frame, schema):
    return sch.prepare(frame, schema)


@pytest.mark.parametrize("name", ["penguins", "wine"])
def test_our_gaussian_copula_scores_at_least_as_sdv_used_directly(name):
    """SDV used directly (its own metadata detection) against ours, both scored by SDMetrics' QualityReport
    under the same schema."""
    raw, schema = demo(name)
    ours = make_generator("gaussian_copula", seed=0).fit(raw, schema).sample(len(raw))
    theirs = sdv_used_directly(raw, "gaussian_copula")
    q_ours = quality_report(typed(raw, schema), typed(ours, schema), schema)
    q_theirs = quality_report(typed(raw, schema), typed(theirs, schema), schema)
    assert q_ours["quality_score"] >= q_theirs["quality_score"] - 0.01
    assert 0.5 < q_ours["column_shapes"] <= 1 and 0.3 < q_ours["column_pair_trends"] <= 1


def test_dp_epsilon_is_the_accountants_and_membership_stays_near_chance(workspace, tmp_path):
    from opacus.accountants import RDPAccountant

    raw, schema = demo("fair")
    train, holdout = split_holdout(raw.head(3000), 0.3)
    gen = make_generator("dp_tvae", seed=0, epochs=5, epsilon=1.0).fit(train, schema)
    p = gen.privacy
    acc = RDPAccountant()
    steps = round(p["epochs"] / p["sample_rate"])
    acc.history = [(p["noise_multiplier"], p["sample_rate"], steps)]
    assert p["epsilon_sgd_spent"] == pytest.approx(acc.get_epsilon(p["delta"]), rel=1e-6)
    assert p["epsilon_total"] <= 1.0 + 1e-6 and p["delta"] == pytest.approx(1e-5)
    synth = gen.sample(len(train))
    report = privacy_report(typed(train, schema), typed(holdout, schema), typed(synth, schema), schema, dp_statement=p)
    assert abs(report["membership_auc"] - 0.5) < 0.05
    gen.save(tmp_path / "dp")
    saved = json.loads((tmp_path / "dp" / "generator.json").read_text())
    assert "sdv_synthesizer.pkl" not in {p.name for p in (tmp_path / "dp").iterdir()}  # safetensors + JSON only
    assert set(saved) >= {"blocks", "privacy", "codec", "init"} and len(json.dumps(saved)) < 20_000  # no rows in it
    again = TabularGenerator.load(tmp_path / "dp")  # built by its constructor from the saved arguments
    assert again.options["epsilon"] == 1.0 and list(again.sample(10).columns) == list(train.columns)


def test_categories_paid_from_the_budget_are_accounted():
    raw, schema = demo("penguins")
    gen = make_generator("dp_tvae", seed=0, epochs=2, epsilon=2.0, categories="dp").fit(raw, schema)
    p = gen.privacy
    assert p["epsilon_preprocessing"] == pytest.approx(0.2)
    assert p["epsilon_total"] == pytest.approx(p["epsilon_sgd_spent"] + 0.2) and p["epsilon_total"] <= 2.0 + 1e-6
    assert "categories" not in " ".join(p["declared_public"])


def test_conditions_constraints_and_files_the_workspace_did_not_write(workspace, tmp_path):
    raw, schema = demo("penguins")
    gen = make_generator("gaussian_copula", seed=0).fit(raw, schema, fixed_combinations=[("species", "island")])
    rows = gen.sample(200, conditions={"species": "Gentoo"},
                      constraints=[Range("body_mass_g", 3500, 6000), Inequality("bill_depth_mm", "bill_length_mm")])
    assert len(rows) == 200 and set(rows["species"]) == {"Gentoo"}
    assert rows["body_mass_g"].dropna().between(3500, 6000).all()
    assert set(rows["island"]) <= set(raw.loc[raw["species"] == "Gentoo", "island"])  # combos seen in the data
    with pytest.raises(GeneratorError, match="cannot condition on 'colour'"):
        gen.sample(5, conditions={"colour": "red"})
    with pytest.raises(GeneratorError, match="rejected almost every row"):
        gen.sample(5, constraints=[Range("body_mass_g", -2, -1)])
    with pytest.raises(GeneratorError, match="unknown generator 'nope'"):
        make_generator("nope")
    gen.save(tmp_path / "gc")
    assert len(TabularGenerator.load(tmp_path / "gc").sample(7)) == 7

    # the same folder seen from another workspace: its pickle was not written there
    copied = tmp_path / "copied"
    shutil.copytree(tmp_path / "gc", copied)
    other = tmp_path / "other_ws"
    import os

    os.environ["GENESIS_HOME"] = str(other)
    try:
        with pytest.raises(GeneratorError, match="was not written by this workspace"):
            TabularGenerator.load(copied)
    finally:
        os.environ["GENESIS_HOME"] = str(workspace.root)
    pkl = tmp_path / "gc" / "sdv_synthesizer.pkl"
    pkl.write_bytes(pkl.read_bytes() + b"tampered")
    with pytest.raises(GeneratorError, match="does not match the hash"):
        TabularGenerator.load(tmp_path / "gc")


def test_quality_and_privacy_metrics_behave_at_their_extremes():
    raw, schema = demo("penguins")
    frame = typed(raw, schema)
    order = np.random.default_rng(0).permutation(len(frame))
    half = len(frame) // 2
    train, holdout = frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:]].reset_index(drop=True)
    same = quality_report(train, train.copy(), schema)
    assert same["column_shapes"] == pytest.approx(1.0) and same["column_pair_trends"] == pytest.approx(1.0)
    assert all(c["score"] == pytest.approx(1.0) for c in same["columns"])
    copy = privacy_report(train, holdout, train.sample(len(holdout), random_state=0), schema)
    assert copy["exact_copy_rate"] == 1.0 and copy["dcr_share_closer_to_train"] > 0.95 and copy["dcr_train_median"] == 0
    assert copy["membership_auc"] > 0.6
    assert {v["measure"]: v["verdict"] for v in copy["verdicts"]}["Exact copies"] == "risk"
    third = len(frame) // 3
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)  # the file is sorted by species
    a, b, c = (shuffled.iloc[i * third:(i + 1) * third].reset_index(drop=True) for i in range(3))
    fresh = privacy_report(a, b, c, schema)  # "synthetic" rows that are just other real rows
    assert fresh["dcr_share_ideal"] == pytest.approx(0.5)
    assert 0.3 < fresh["dcr_share_closer_to_train"] < 0.7 and fresh["exact_copy_rate"] == 0  # a coin flip
    assert abs(fresh["membership_auc"] - 0.5) < 0.15
    no_holdout = privacy_report(a, None, c, schema)
    assert "membership_auc" not in no_holdout and "never saw" in no_holdout["note"]


def test_k_anonymity_is_enforced_by_generalisation_and_suppression():
    raw, schema = demo("penguins")
    frame = typed(raw, schema)
    kinds = column_kinds(schema, frame.columns)
    quasi = ["island", "sex", "body_mass_g"]
    assert k_anonymity(frame, quasi, "species")["k"] == 1
    released, info = enforce_k_anonymity(frame, quasi, 5, kinds)
    assert k_anonymity(released, quasi, "species")["k"] >= 5
    assert info["generalised"] == ["body_mass_g"] and info["suppressed_rows"] == len(frame) - len(released)


def test_pairs_below_sdmetrics_threshold_are_scored_and_a_missing_pair_trend_says_why():
    """Two independent numbers: SDMetrics' report counts no pair (|correlation| under its 0.5), so it has no
    pair-trend score; the pair still gets its own score, and the report says why the quality score is the column
    shapes alone. A text-only partner leaves one modelled column: no pair at all, said so."""
    import pandas as pd

    from genesis_core.tabular.evaluation.quality import fidelity
    from genesis_core.tabular.data.schema import ColumnSpec

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    synth = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    schema = [ColumnSpec("x", "numerical", 0.0), ColumnSpec("y", "numerical", 0.0)]
    f = fidelity(real, synth, schema)
    assert f["column_pair_trends"] is None and f["quality_score"] == f["column_shapes"]
    assert "threshold" in f["column_pair_trends_note"] and "column shapes alone" in f["column_pair_trends_note"]
    (pair,) = f["pairs"]
    assert pair["score"] is not None and 0.9 < pair["score"] <= 1 and pair["counted"] is False
    linked = real.assign(y=real["x"] * 2 + rng.normal(size=300) * 0.1)
    g = fidelity(linked, linked.sample(frac=1, random_state=1).reset_index(drop=True), schema)
    assert g["column_pair_trends"] is not None and "column_pair_trends_note" not in g and g["pairs"][0]["counted"]
    single = fidelity(real[["x"]], synth[["x"]], schema[:1])
    assert "no pair to compare" in single["column_pair_trends_note"]


def test_l_diversity_is_enforced_with_what_it_changed_counted_by_hand():
    """Groups by (zip, age bin): 1000 has flu and cold (l 2), 2000 only flu (l 1, 3 rows), 3000 flu, cold and
    asthma (l 3). At l = 2 the 3 rows of 2000 go, nothing else; at l = 4 nothing can hold: one sentence."""
    import pandas as pd

    from genesis_core.errors import WorkbenchError
    from genesis_core.tabular.evaluation.privacy import enforce_l_diversity, k_anonymity

    df = pd.DataFrame({"zip": ["1000"] * 4 + ["2000"] * 3 + ["3000"] * 3,
                       "age": [30, 31, 32, 33, 40, 41, 42, 50, 51, 52],
                       "disease": ["flu", "cold", "flu", "cold", "flu", "flu", "flu", "flu", "cold", "asthma"]})
    kinds = {"zip": "categorical", "age": "numerical", "disease": "categorical"}
    assert k_anonymity(df, ["zip"], "disease")["l"] == 1
    released, info = enforce_l_diversity(df, ["zip"], "disease", 2, kinds)
    assert len(released) == 7 and info["suppressed_rows"] == 3 and info["groups_suppressed"] == 1
    assert (info["l_before"], info["l_after"]) == (1, 2) and "2000" not in set(released["zip"])
    released, info = enforce_l_diversity(df, ["zip", "age"], "disease", 2, kinds, bins=1)  # age into one bin
    assert info["generalised"] == ["age"] and released["age"].nunique() == 1 and info["suppressed_rows"] == 3
    with pytest.raises(WorkbenchError, match="3 distinct values in all"):
        enforce_l_diversity(df, ["zip"], "disease", 4, kinds)


def test_privacy_audit_enforces_l_from_the_terminal(workspace, tmp_path, capsys):
    import pandas as pd

    from genesis_core.cli.commands import main

    real, synth, out = tmp_path / "real.csv", tmp_path / "synth.csv", tmp_path / "released.csv"
    penguins = load_demo("penguins")
    penguins.to_csv(real, index=False)
    penguins.sample(frac=1, random_state=1).to_csv(synth, index=False)
    assert main(["privacy-audit", "-r", str(real), "-s", str(synth), "--quasi-identifiers", "island,sex",
                 "--sensitive", "species", "--enforce-l", "2", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    released = pd.read_csv(out)
    from genesis_core.tabular.evaluation.privacy import k_anonymity

    assert "l=2" in printed and k_anonymity(released, ["island", "sex"], "species")["l"] >= 2
    assert main(["privacy-audit", "-r", str(real), "-s", str(synth), "--enforce-l", "2"]) == 2
