"""The column-autoregressive generator on real and made tables, in process on the CPU: it models the joint
distribution (a rule between columns the copula cannot hold comes back), draws rows given values (conditions
imposed, not filtered), returns every kind as the codec writes it, and saves and loads without pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.single_table.base import TabularGenerator, make_generator
from genesis_core.tabular.pipeline import schema_for

FAST = {"max_steps": 150, "eval_every": 25}


@pytest.fixture(scope="module")
def penguins_fit():
    frame = load_demo("penguins")
    frame["seen"] = pd.date_range("2007-11-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    schema = schema_for(frame)
    return frame, make_generator("autoregressive", seed=0, **FAST).fit(frame, schema)


def test_a_rule_between_columns_comes_back_where_a_copula_loses_it():
    """city decides country (one country per city); a number rises with the city's rank. The autoregressive
    model keeps the rule on nearly every row; GaussianCopula, modelling pairs through normal scores, breaks it."""
    rng = np.random.default_rng(0)
    cities = {"Bern": "CH", "Basel": "CH", "Lyon": "FR", "Nice": "FR", "Porto": "PT", "Faro": "PT", "Kiel": "DE",
              "Ulm": "DE"}
    city = rng.choice(list(cities), 400)
    frame = pd.DataFrame({"city": city, "country": [cities[c] for c in city],
                          "score": [list(cities).index(c) * 10 + rng.normal(0, 1) for c in city]})
    schema = schema_for(frame)

    def held(gen_name, **options):
        synth = make_generator(gen_name, seed=0, **options).fit(frame, schema).sample(400, seed=1)
        return float(np.mean([cities.get(a) == b for a, b in zip(synth["city"], synth["country"])]))

    ours = held("autoregressive", max_steps=300, eval_every=50)
    copula = held("gaussian_copula")
    assert ours >= 0.95 and ours > copula + 0.1, (ours, copula)


def test_every_kind_comes_back_as_the_input_writes_it(penguins_fit):
    frame, gen = penguins_fit
    synth = gen.sample(300, seed=3)
    assert list(synth.columns) == list(frame.columns) and len(synth) == 300
    assert set(synth["species"].dropna()) <= set(frame["species"].dropna())
    assert synth["sex"].isna().any() or frame["sex"].isna().mean() < 0.02  # missing values are drawn too
    body = pd.to_numeric(synth["body_mass_g"], errors="coerce").dropna()
    assert (body % 1 == 0).all() and body.between(frame["body_mass_g"].min(), frame["body_mass_g"].max()).all()
    assert pd.to_datetime(synth["seen"]).dt.strftime("%Y-%m-%d").equals(synth["seen"].astype(str))  # as written
    assert synth["year"].isin(frame["year"].unique()).all()


def test_conditions_are_drawn_given_not_filtered(penguins_fit):
    frame, gen = penguins_fit
    given = gen.sample(120, conditions={"species": "Gentoo", "island": "Biscoe"}, seed=5)
    assert (given["species"] == "Gentoo").all() and (given["island"] == "Biscoe").all()
    gentoo = frame[frame["species"] == "Gentoo"]["flipper_length_mm"].median()
    adelie = frame[frame["species"] == "Adelie"]["flipper_length_mm"].median()
    drawn = pd.to_numeric(given["flipper_length_mm"], errors="coerce").median()
    assert abs(drawn - gentoo) < abs(drawn - adelie)  # the rest of the row follows the condition


def test_save_and_load_are_safetensors_and_json_and_sample_the_same(penguins_fit, tmp_path):
    frame, gen = penguins_fit
    gen.save(tmp_path / "g")
    files = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert "model.safetensors" in files and not [f for f in files if f.endswith((".pkl", ".pt", ".pickle"))]
    json.loads((tmp_path / "g" / "generator.json").read_text())
    again = TabularGenerator.load(tmp_path / "g")
    pd.testing.assert_frame_equal(gen.sample(50, seed=9), again.sample(50, seed=9))


def test_a_column_never_missing_in_training_is_never_drawn_missing(penguins_fit):
    """An under-fitted model (20 steps) still gives its "missing" tokens some probability; sampling draws an empty
    cell only in columns that had one in training (penguins' sex and measurements do, species, island and the
    dates do not)."""
    frame, _ = penguins_fit
    gen = make_generator("autoregressive", seed=0, max_steps=20, eval_every=10, epochs=1).fit(frame, schema_for(frame))
    synth = gen.sample(3000, seed=5)
    for col in frame.columns:
        if not frame[col].isna().any():
            assert not synth[col].isna().any(), col
    assert synth["sex"].isna().any()  # 3% missing in training: drawn too
