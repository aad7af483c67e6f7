"""AIM: the numpy graphical model answers what the model defines (checked by brute force on generated models and
against mbi's own estimator), the budget adds up round by round, rare values never come out, and it saves no rows."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.evaluation.quality import fidelity
from genesis_core.tabular.single_table.aim import workload_candidates
from genesis_core.tabular.single_table.base import TabularGenerator, make_generator
from genesis_core.tabular.single_table.graphical_model import GraphicalModel, JunctionTree, Measurement, counts
from genesis_core.tabular.single_table.privacy_accounting import cdp_rho


@st.composite
def models(draw):
    k = draw(st.integers(2, 5))
    sizes = draw(st.lists(st.integers(1, 4), min_size=k, max_size=k))
    pairs = list(itertools.combinations(range(k), 2)) + list(itertools.combinations(range(k), 3))
    cliques = draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True))
    seed = draw(st.integers(0, 2**16))
    return sizes, [tuple(c) for c in cliques], seed


@settings(max_examples=60, deadline=None)
@given(models())
def test_every_marginal_of_the_tree_is_the_brute_force_marginal_of_its_potentials(model):
    """Random potentials on a random junction tree (a forest where the cliques fall apart): every marginal over
    one to three columns, from a node or by elimination along the tree, equals the marginal of the joint
    exp(sum of potentials) written out cell by cell."""
    sizes, cliques, seed = model
    rng = np.random.default_rng(seed)
    tree = JunctionTree(sizes, cliques)
    theta = [rng.normal(0, 1, [sizes[a] for a in node]) for node in tree.nodes]
    total = 100.0
    mu = tree.calibrate(theta, total)
    k = len(sizes)
    joint = np.zeros(sizes)
    for node, t in zip(tree.nodes, theta):
        joint = joint + t.reshape([sizes[a] if a in node else 1 for a in range(k)])
    joint = np.exp(joint - joint.max())
    joint = total * joint / joint.sum()
    for r in (1, 2, 3):
        for clique in itertools.combinations(range(k), r):
            expected = joint.sum(axis=tuple(a for a in range(k) if a not in clique))
            np.testing.assert_allclose(tree.marginal(mu, clique, total), expected, rtol=1e-7, atol=1e-9)


def test_the_estimator_agrees_with_mbis_mirror_descent_on_the_same_measurements():
    from genesis_core.tabular.single_table.mst import _mbi

    rng = np.random.default_rng(0)
    sizes, n = [3, 4, 2, 5, 3], 500
    x0 = rng.integers(0, 3, n)
    x1 = (x0 + rng.integers(0, 2, n)) % 4
    x2 = (x1 > 1).astype(int)
    data = np.stack([x0, x1, x2, (x2 * 2 + rng.integers(0, 3, n)) % 5, rng.integers(0, 3, n)], 1)
    cliques = [(0,), (1,), (2,), (3,), (4,), (0, 1), (1, 2), (2, 3), (0, 3)]

    measurements = [Measurement(c, counts(data, c, sizes) + rng.normal(0, 5, counts(data, c, sizes).shape), 5.0)
                    for c in cliques]
    ours = GraphicalModel(sizes)
    for m in measurements:
        ours.add(m)
    ours.fit(1500)
    mbi = _mbi()
    attrs = [str(j) for j in range(5)]
    theirs = mbi.estimation.MirrorDescent().estimate(
        mbi.Domain(attrs, sizes), [mbi.LinearMeasurement(m.noisy.ravel(), tuple(attrs[j] for j in m.clique), stddev=5.0)
                                   for m in measurements], iters=1500)
    for clique in [(0, 1), (1, 3), (0, 4), (0, 2, 3), (1, 3, 4)]:
        expected = np.asarray(theirs.project([attrs[j] for j in clique]).datavector(flatten=False))
        assert np.abs(ours.marginal(clique) - expected).sum() < 0.01 * n


def test_the_workload_weights_count_the_columns_each_candidate_shares():
    cands = workload_candidates(3, [4, 4, 4], 2)
    assert cands[(0, 1)] == 2 + 1 + 1  # itself, and one column with each of the two other pairs
    assert cands[(0,)] == 2  # in two of the three pairs
    assert (0, 1, 2) not in cands
    assert (0, 1) not in workload_candidates(2, [200, 200], 2)  # 40,000 cells: over the limit, one-way only


def test_aim_spends_exactly_its_budget_releases_no_rare_value_and_saves_no_rows(workspace, tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    age = rng.integers(18, 80, n)
    frame = pd.DataFrame({"city": np.where(age < 40, rng.choice(["Basel", "Bern"], n), rng.choice(["Bern", "Zug"], n)),
                          "age": age, "income": (age * 1200 + rng.gamma(2, 8_000, n)).round(2),
                          "owner": rng.random(n) < (age / 100)})
    frame.loc[7, "city"] = "Vaduz"  # one person from a small town
    schema = sch.infer_schema(frame)
    said = []
    gen = make_generator("aim", seed=0, epsilon=1.0).fit(frame, schema, progress=lambda d, t, m: said.append(d / t))
    assert said == sorted(said) and said[-1] == 1.0  # one bar that never moves backwards
    p = gen.privacy
    assert p["mechanism"].startswith("AIM") and p["rho"] == pytest.approx(cdp_rho(1.0, p["delta"] / 2))
    assert p["rho_spent"] == pytest.approx(p["rho"], rel=1e-9)  # the last round spends what is left, no more
    assert p["rounds"] == len(p["measured"]) >= 1
    assert all(len(cols) <= 2 for cols, _ in p["measured"])  # the workload's candidates: pairs and single columns
    synth = gen.sample(5000, seed=0)
    assert set(synth["city"].dropna()) <= {"Basel", "Bern", "Zug"}  # Vaduz is below the threshold
    q = fidelity(sch.prepare(frame, schema), sch.prepare(synth, schema), schema)
    assert q["column_shapes"] > 0.8 and q["column_pair_trends"] > 0.8
    gen.save(tmp_path / "aim")
    saved = (tmp_path / "aim" / "generator.json").read_text()
    assert "Vaduz" not in saved and len(json.loads(saved)["columns_meta"]) == 4
    again = TabularGenerator.load(tmp_path / "aim")  # safetensors + JSON
    pd.testing.assert_frame_equal(again.sample(50, seed=3), gen.sample(50, seed=3))


@st.composite
def tables(draw):
    rows = draw(st.integers(60, 300))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    kinds = draw(st.lists(st.sampled_from(["category", "integer", "decimal", "zeros"]), min_size=2, max_size=4))
    columns = {}
    for i, kind in enumerate(kinds):
        if kind == "category":
            columns[f"c{i}"] = rng.choice(list("abcde")[:draw(st.integers(2, 5))], rows)
        elif kind == "integer":
            columns[f"c{i}"] = rng.integers(0, draw(st.integers(2, 200)), rows)
        elif kind == "decimal":
            columns[f"c{i}"] = rng.lognormal(draw(st.floats(-3, 8)), 1.0, rows).round(3)
        else:
            columns[f"c{i}"] = np.where(rng.random(rows) < 0.6, 0.0, rng.gamma(2, 50, rows).round(2))
    return pd.DataFrame(columns), draw(st.floats(0.1, 10.0)), seed


@settings(max_examples=12, deadline=None)
@given(tables())
def test_on_any_table_aim_spends_exactly_its_budget_and_writes_back_only_released_values(case):
    frame, epsilon, seed = case
    schema = sch.infer_schema(frame)
    gen = make_generator("aim", seed=seed % 7, epsilon=epsilon).fit(frame, schema)
    p = gen.privacy
    assert p["rho_spent"] == pytest.approx(p["rho"], rel=1e-9) and p["rounds"] >= 1
    synth = gen.sample(200, seed=0)
    assert list(synth.columns) == list(frame.columns) and len(synth) == 200
    for col in frame.columns:
        if frame[col].dtype == object:  # a category comes back as one of the input's, never invented
            assert set(synth[col].dropna()) <= set(frame[col])


def test_aim_refuses_a_workload_it_does_not_have():
    with pytest.raises(ValueError, match="degree"):
        make_generator("aim", degree=4)


def test_private_auto_chooses_from_public_facts_and_the_release_says_so(workspace):
    """With epsilon, auto fits no candidate on the real rows (that choice would leak them outside the budget): it
    takes the first private generator in the published order, and the DP statement says the choice spent nothing."""
    from genesis_core.tabular import PrivacyConfig, SyntheticGenerator
    from genesis_core.tabular.data.demos import load_demo
    from genesis_core.tabular.single_table.auto import candidates_for, private_choice

    assert candidates_for(1.0) == ["aim", "mst", "dp_tvae"]
    assert private_choice(["dp_tvae", "mst"])[0] == "mst"
    gen = SyntheticGenerator(method="auto", privacy=PrivacyConfig(epsilon=1.0)).fit(load_demo("penguins"))
    meta = gen.quality_report()["meta"]
    assert meta["generator"] == "aim" and meta["leaderboard"] == [] and "public facts" in meta["reason"]
    assert gen.release["privacy"]["statement"].startswith("differentially private: ε = 1")
    assert "nothing spent on the choice" in gen.release["privacy"]["statement"]
    # without epsilon a private candidate is scored on real rows like any other: no claim of a free choice
    scored = SyntheticGenerator(method="auto", options={"candidates": ["mst"], "auto_budget_s": 120}).fit(
        load_demo("penguins"))
    assert scored.quality_report()["meta"]["leaderboard"] and "public facts" not in json.dumps(scored.release)
