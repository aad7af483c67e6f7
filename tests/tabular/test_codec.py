"""What comes out is written as what went in: integers, 0/1, booleans, integer categories, dates on their grid,
decimal commas, missing tokens; point masses survive; personal data is never copied; ids are new."""

import io

import numpy as np
import pandas as pd
import pytest

from genesis_core.tabular.data.codec import TableCodec, looks_copied, snap_to_grid
from genesis_core.tabular.single_table.base import make_generator
from genesis_core.tabular.data.ingest import read_table
from genesis_core.tabular.data.schema import infer_schema


def quirky_table(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    first = ["Anna", "Bruno", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Irene", "Jonas"]
    last = ["Meier", "Rossi", "Dupont", "Novak", "Smith", "Keller", "Costa"]
    return pd.DataFrame({
        "customer_id": np.arange(5000, 5000 + n),
        "full_name": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)],
        "email": [f"p{i}@example.com" for i in range(n)],
        "age": age,  # integer-coded: numerical
        "children": rng.poisson(1.2, n),  # a count with few levels
        "income": np.where(rng.random(n) < 0.6, 0.0, np.round(age * 900 + rng.normal(0, 5000, n), 2)),  # zeros
        "smoker": rng.integers(0, 2, n),  # 0/1
        "member": rng.choice([True, False], n),
        "plan": rng.choice([1, 2, 9], n, p=[0.5, 0.3, 0.2]),  # integer codes, unevenly spaced
        "grade": rng.choice(["a", "b", "c"], n),
        "joined": pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 20, n) * 365.25, unit="D"),
        "visit": pd.bdate_range("2021-01-01", periods=n).strftime("%d.%m.%Y"),
    }).assign(joined=lambda d: d["joined"].dt.to_period("Y").dt.start_time.dt.strftime("%Y-%m-%d"))


def through_csv(df: pd.DataFrame) -> pd.DataFrame:
    return read_table(df.to_csv(index=False).encode(), "t.csv")[0]


@pytest.fixture(scope="module")
def fitted():
    raw = through_csv(quirky_table())
    schema = infer_schema(raw)
    gen = make_generator("gaussian_copula", seed=0).fit(raw, schema)
    return raw, schema, gen, gen.sample(2000, seed=1)


def test_types_are_decided_with_evidence_and_explained(fitted):
    raw, schema, _, _ = fitted
    kinds = {c.name: c for c in schema}
    assert kinds["age"].kind == "numerical" and kinds["age"].integer and "whole numbers" in kinds["age"].note
    assert kinds["children"].kind == "numerical" and kinds["children"].levels
    assert kinds["plan"].kind == "categorical" and "integer codes" in kinds["plan"].note
    assert kinds["smoker"].kind == "boolean" and (kinds["smoker"].true_value, kinds["smoker"].false_value) == (1, 0)
    assert kinds["income"].point_masses == [0.0] and "point mass at 0" in kinds["income"].note
    assert kinds["joined"].kind == "datetime" and kinds["joined"].grid == "year"
    assert kinds["visit"].grid == "weekday" and kinds["visit"].datetime_format == "%d.%m.%Y"
    assert kinds["customer_id"].kind == "id"
    assert kinds["full_name"].kind == "pii" and kinds["email"].pii == "email"


def test_output_is_written_as_the_input(fitted):
    raw, _, _, synth = fitted
    assert list(synth.columns) == list(raw.columns)
    for col in ("age", "children", "smoker", "plan", "customer_id"):
        assert pd.api.types.is_integer_dtype(synth[col]), col  # integers stay integers in the API's frame
    assert set(synth["smoker"].unique()) <= {0, 1} and set(synth["plan"].unique()) <= {1, 2, 9}
    assert synth["member"].map(type).eq(bool).all()
    csv = synth.to_csv(index=False)
    assert "True" not in csv.split("\n")[1].split(",")[6]  # 0/1 written as 0/1, not True/False
    assert synth["age"].between(raw["age"].min(), raw["age"].max()).all()
    again = pd.read_csv(io.StringIO(csv))
    assert pd.api.types.is_integer_dtype(again["plan"]) and pd.api.types.is_integer_dtype(again["children"])


def test_point_masses_and_discrete_levels_survive(fitted):
    raw, _, _, synth = fitted
    zeros_real, zeros_synth = (raw["income"] == 0).mean(), (synth["income"] == 0).mean()
    assert abs(zeros_real - zeros_synth) < 0.05
    assert (synth.loc[synth["income"] != 0, "income"] > 0).mean() > 0.8  # the rest stays continuous, not zero
    assert set(synth["children"].unique()) <= set(raw["children"].unique())
    share = lambda s: s.value_counts(normalize=True).sort_index()  # noqa: E731
    assert (share(raw["children"]) - share(synth["children"])).abs().max() < 0.05
    # pair trend of an integer column with a continuous one survives (age drives income)
    r_real = raw.loc[raw.income > 0, ["age", "income"]].corr().iloc[0, 1]
    r_synth = synth.loc[synth.income > 0, ["age", "income"]].corr().iloc[0, 1]
    assert r_real > 0.5 and abs(r_real - r_synth) < 0.2


def test_dates_stay_on_their_grid(fitted):
    _, _, _, synth = fitted
    joined = pd.to_datetime(synth["joined"], format="%Y-%m-%d")
    assert ((joined.dt.month == 1) & (joined.dt.day == 1)).all()
    visit = pd.to_datetime(synth["visit"], format="%d.%m.%Y")
    assert (visit.dt.dayofweek < 5).all() and synth["visit"].str.match(r"^\d\d\.\d\d\.\d{4}$").all()
    d = pd.Series(pd.to_datetime(["2020-06-20", "2020-06-21", "2020-12-31", "2020-02-14 13:00"], format="ISO8601"))
    assert list(snap_to_grid(d, "weekday").dt.dayofweek) == [4, 0, 3, 4]
    assert list(snap_to_grid(d, "year").dt.year) == [2020, 2020, 2021, 2020]
    assert str(snap_to_grid(d, "month").iloc[3].date()) == "2020-02-01"


def test_personal_data_is_replaced_never_copied_and_ids_are_new(fitted):
    raw, _, _, synth = fitted
    assert looks_copied(raw["email"], synth["email"]) == 0 and synth["email"].str.contains("@").all()
    assert looks_copied(raw["full_name"], synth["full_name"]) < 0.05  # fake names; a few may coincide
    assert synth["customer_id"].is_unique


def test_personal_data_can_be_left_out_and_representation_tokens_come_back():
    text = "score;size;note\n" + "\n".join(f"{i % 7},5;{'?' if i % 10 == 0 else i % 13};x{i % 3}" for i in range(60))
    raw, info = read_table(text.encode(), "t.csv")
    schema = {c.name: c for c in infer_schema(raw)}
    assert schema["score"].decimal_comma and schema["size"].missing_tokens == ["?"]
    codec = TableCodec.fit(raw, list(schema.values()))
    back = codec.decode(codec.encode(raw))
    assert back["score"].str.match(r"^\d,\d$").all() and (back["size"] == "?").sum() == 6
    assert (back["size"][back["size"] != "?"].astype(int) == raw["size"][raw["size"] != "?"].astype(int)).all()
    people = pd.DataFrame({"name": ["Ann Lee", "Bo Chen", "Cy Park"] * 5, "x": range(15)})
    specs = infer_schema(people)
    specs[0].pii_action = "drop"
    gen = make_generator("gaussian_copula").fit(people, specs)
    assert list(gen.sample(5).columns) == ["x"]


def test_money_percentages_thousands_spelled_booleans_and_mixed_dates_come_back_as_written(workspace):
    n = 80
    text = "price,share,population,active,seen,day\n" + "".join(
        f'"${1000 + 13.5 * i:,.2f}",{i % 97}%,"{1_000 + 4_321 * i:,}",{"TRUE" if i % 3 else "FALSE"},'
        f'{"2021-03-%02d" % (i % 28 + 1) if i % 2 else "%02d/04/2021" % (i % 28 + 1)},{i}\n' for i in range(n))
    raw = read_table(text.encode(), "t.csv")[0]
    specs = {c.name: c for c in infer_schema(raw)}
    assert (specs["price"].kind, specs["price"].prefix, specs["price"].thousands, specs["price"].decimals) == \
        ("numerical", "$", ",", 2)
    assert specs["share"].suffix == "%" and specs["population"].thousands == ","
    assert specs["active"].kind == "boolean" and specs["active"].true_value == "TRUE"
    assert specs["seen"].kind == "datetime" and specs["seen"].datetime_format.startswith("mixed")
    assert specs["day"].kind == "numerical"  # consecutive whole numbers, but not a first column: not a row number
    synth = make_generator("gaussian_copula", seed=0).fit(raw, list(specs.values())).sample(200, seed=2)
    assert synth["price"].str.match(r"^\$\d{1,3}(,\d{3})*\.\d{2}$").all()
    assert synth["share"].str.match(r"^\d+%$").all() and synth["population"].str.match(r"^\d{1,3}(,\d{3})*$").all()
    assert set(synth["active"]) <= {"TRUE", "FALSE"} and synth["seen"].str.match(r"^2021-0[34]-\d\d$").all()
