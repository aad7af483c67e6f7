import json

import numpy as np
import pandas as pd
import pytest

from genesis_core.tabular import schema as sch
from genesis_core.tabular.generators import GeneratorError, Inequality, Range, TabularGenerator, auto_choice, make_generator
from genesis_core.tabular.privacy import enforce_k_anonymity, k_anonymity, privacy_report
from genesis_core.tabular.quality import _kinds, quality_report
from genesis_core.tabular.task import load_demo


def prepared(name):
    raw = load_demo(name)
    schema = sch.infer_schema(raw)
    return sch.prepare(raw, schema), schema


def split(frame, holdout=0.3):
    order = np.random.default_rng(0).permutation(len(frame))
    n = int(len(frame) * holdout)
    return frame.iloc[order[n:]].reset_index(drop=True), frame.iloc[order[:n]].reset_index(drop=True)


@pytest.mark.parametrize("demo", ["penguins", "wine"])
def test_our_gaussian_copula_scores_as_sdv_used_directly(demo):
    from sdv.single_table import GaussianCopulaSynthesizer

    frame, schema = prepared(demo)
    ours = make_generator("gaussian_copula", seed=0).fit(frame, schema).sample(len(frame))
    direct = GaussianCopulaSynthesizer(sch.sdv_metadata(schema))
    direct.fit({"table": frame})
    theirs = direct.sample(len(frame))
    theirs = next(iter(theirs.values())) if isinstance(theirs, dict) else theirs
    q_ours, q_theirs = quality_report(frame, ours, schema), quality_report(frame, theirs, schema)
    assert abs(q_ours["scores"]["column_shapes"] - q_theirs["scores"]["column_shapes"]) < 0.03
    assert abs(q_ours["scores"]["column_pairs"] - q_theirs["scores"]["column_pairs"]) < 0.03
    assert abs(q_ours["sdmetrics_quality"] - q_theirs["sdmetrics_quality"]) < 0.03


def test_dp_epsilon_is_the_accountants_and_membership_stays_near_chance(tmp_path):
    from opacus.accountants import RDPAccountant

    frame, schema = prepared("fair")
    train, holdout = split(frame.head(3000))
    gen = make_generator("dp_tvae", seed=0, epochs=5, epsilon=1.0).fit(train, schema)
    p = gen.privacy
    acc = RDPAccountant()
    steps = round(p["epochs"] / p["sample_rate"])
    acc.history = [(p["noise_multiplier"], p["sample_rate"], steps)]
    assert p["epsilon_sgd_spent"] == pytest.approx(acc.get_epsilon(p["delta"]), rel=1e-6)
    assert p["epsilon_total"] <= 1.0 + 1e-6 and p["delta"] == pytest.approx(1e-5)
    synth = gen.sample(len(train))
    report = privacy_report(train, holdout, synth, _kinds(schema, synth.columns), dp_statement=p)
    assert abs(report["membership_auc"] - 0.5) < 0.05
    gen.save(tmp_path / "dp")
    saved = json.loads((tmp_path / "dp" / "generator.json").read_text())
    assert "sdv_synthesizer.pkl" not in {p.name for p in (tmp_path / "dp").iterdir()}  # safetensors + JSON only
    assert set(saved) >= {"blocks", "privacy", "schema"} and len(json.dumps(saved)) < 20_000  # no rows in it
    again = TabularGenerator.load(tmp_path / "dp")
    assert list(again.sample(10).columns) == list(train.columns)


def test_categories_paid_from_the_budget_are_accounted():
    frame, schema = prepared("penguins")
    gen = make_generator("dp_tvae", seed=0, epochs=2, epsilon=2.0, categories="dp").fit(frame, schema)
    p = gen.privacy
    assert p["epsilon_preprocessing"] == pytest.approx(0.2)
    assert p["epsilon_total"] == pytest.approx(p["epsilon_sgd_spent"] + 0.2) and p["epsilon_total"] <= 2.0 + 1e-6
    assert "categories" not in " ".join(p["declared_public"])


def test_conditions_constraints_and_a_tampered_file(tmp_path):
    frame, schema = prepared("penguins")
    gen = make_generator("gaussian_copula", seed=0).fit(frame, schema, fixed_combinations=[("species", "island")])
    rows = gen.sample(200, conditions={"species": "Gentoo"},
                      constraints=[Range("body_mass_g", 3500, 6000), Inequality("bill_depth_mm", "bill_length_mm")])
    assert len(rows) == 200 and set(rows["species"]) == {"Gentoo"}
    assert rows["body_mass_g"].dropna().between(3500, 6000).all()
    assert set(rows["island"]) <= set(frame.loc[frame["species"] == "Gentoo", "island"])  # combos seen in the data
    with pytest.raises(GeneratorError, match="cannot condition on 'colour'"):
        gen.sample(5, conditions={"colour": "red"})
    with pytest.raises(GeneratorError, match="rejected almost every row"):
        gen.sample(5, constraints=[Range("body_mass_g", -2, -1)])
    gen.save(tmp_path / "gc")
    assert len(TabularGenerator.load(tmp_path / "gc").sample(7)) == 7
    pkl = tmp_path / "gc" / "sdv_synthesizer.pkl"
    pkl.write_bytes(pkl.read_bytes() + b"tampered")
    with pytest.raises(GeneratorError, match="does not match the hash"):
        TabularGenerator.load(tmp_path / "gc")


def test_auto_choice_says_why():
    frame, schema = prepared("wine")
    assert auto_choice(schema, 178) == ("gaussian_copula", auto_choice(schema, 178)[1])
    assert "continuous" in auto_choice(schema, 178)[1]
    assert auto_choice(schema, 178, dp=True)[0] == "dp_tvae"
    mixed = [sch.ColumnSpec(c, k, 0.0) for c, k in [("a", "categorical"), ("b", "categorical"), ("c", "numerical")]]
    assert auto_choice(mixed, 5000)[0] == "tvae"


def test_quality_and_privacy_metrics_behave_at_their_extremes():
    frame, schema = prepared("penguins")
    train, holdout = split(frame, 0.5)  # equal sizes: the DCR share then compares like with like
    kinds = _kinds(schema, train.columns)
    same = quality_report(train, train.copy(), schema)
    assert all(c["score"] == pytest.approx(1.0) for c in same["columns"])
    assert all(p["score"] == pytest.approx(1.0) for p in same["pairs"])
    copy = privacy_report(train, holdout, train.sample(len(holdout), random_state=0), kinds)
    assert copy["exact_copy_rate"] == 1.0 and copy["dcr_share_closer_to_train"] > 0.95 and copy["dcr_train_median"] == 0
    assert copy["membership_auc"] > 0.6
    third = len(frame) // 3
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)  # the file is sorted by species
    a, b, c = (shuffled.iloc[i * third:(i + 1) * third].reset_index(drop=True) for i in range(3))
    fresh = privacy_report(a, b, c, kinds)  # "synthetic" rows that are just other real rows
    assert 0.3 < fresh["dcr_share_closer_to_train"] < 0.7 and fresh["exact_copy_rate"] == 0  # a coin flip
    assert abs(fresh["membership_auc"] - 0.5) < 0.15


def test_k_anonymity_is_enforced_by_generalisation_and_suppression():
    frame, schema = prepared("penguins")
    kinds = _kinds(schema, frame.columns)
    quasi = ["island", "sex", "body_mass_g"]
    assert k_anonymity(frame, quasi, "species")["k"] == 1
    released, info = enforce_k_anonymity(frame, quasi, 5, kinds)
    assert k_anonymity(released, quasi, "species")["k"] >= 5
    assert info["generalised"] == ["body_mass_g"] and info["suppressed_rows"] == len(frame) - len(released)
