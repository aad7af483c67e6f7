import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.tabular.data.ingest import TableError, read_table
from genesis_core.tabular.data.schema import apply_overrides, infer_schema, prepare, sdv_metadata


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty."),
    (b"a,b,c\n", "the file has a header but no rows."),
    (b"a,b\n1,2\n", "the table has 1 row; synthesis needs at least 5"),
    (b"a,b\n1,2\n3,4\n", "the table has 2 rows; synthesis needs at least 5"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "the file looks binary"),
    (b"a,b,a\n1,2,3\n4,5,6\n", "the header names 'a' more than once"),
    (b"<!DOCTYPE html><html><body><table></table></body></html>", "this looks like HTML (a web page), not CSV"),
    (b'[{"a": 1}, {"a": 2}]', "this looks like JSON, not CSV"),
    (b'{"a": [1, 2, 3', "this looks like JSON, not CSV"),
    (b"PK\x03\x04\x14\x00\x06\x00", "this looks like a zip archive or an Excel/OpenDocument workbook"),
    (b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n1,2,3\n1,2,3\n", "line 4 has 4 fields where the header has 3"),
    (b'a,b\n1,"2\n3,4\n5,6\n7,8\n9,9\n', "a quoted value is never closed"),
])
def test_bad_files_get_one_sentence(content, message):
    with pytest.raises(TableError) as err:
        read_table(content, "upload.csv")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_file_without_a_header_numbers_beyond_float_range_and_utf16():
    df, info = read_table(b"1,2.5,3\n4,5.5,6\n7,8.5,9\n1,2.5,3\n2,3.5,4\n5,5,5\n", "nh.csv")
    assert list(df.columns) == ["column_1", "column_2", "column_3"] and len(df) == 6
    assert "the first row looks like data, not a header" in info.warnings[0]
    df, info = read_table(b"x,y\n1e400,1\n2,2\n3,3\n4,4\n5,5\n", "huge.csv")
    assert df["x"].tolist()[0] == "1e400" and "beyond the range of a float" in info.warnings[0]
    assert infer_schema(df)[0].kind != "numerical" or not np.isinf(prepare(df, infer_schema(df))["x"]).any()
    text = "name,score\n" + "".join(f"Zoë{i},{i}\n" for i in range(6))
    df, info = read_table(text.encode("utf-16"), "u16.csv")
    assert info.encoding == "utf-16" and df["name"].iloc[0] == "Zoë0"


def test_numbers_stay_numbers_unless_the_evidence_says_codes():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"age": rng.integers(18, 90, n), "children": rng.poisson(1.5, n),
                       "year": rng.integers(1990, 2020, n), "region": rng.choice([1, 2, 3, 99], n),
                       "flag": rng.integers(0, 2, n), "sex": rng.choice([1, 2], n),
                       "zero_inflated": np.where(rng.random(n) < 0.66, 0, rng.gamma(2, 10, n))})
    s = {c.name: c for c in infer_schema(df)}
    for col in ("age", "children", "year", "zero_inflated"):
        assert s[col].kind == "numerical", (col, s[col].note)
    assert s["region"].kind == "categorical" and "unevenly" in s["region"].note
    assert s["flag"].kind == "boolean" and s["sex"].kind == "categorical" and "two values" in s["sex"].note
    assert s["zero_inflated"].point_masses == [0.0] and s["children"].levels
    assert s["age"].note.startswith("whole numbers") and "18–89" in s["age"].note
    dates = pd.DataFrame({"d": [f"2020-{m:02d}-01" for m in range(1, 13)] * 3})
    assert infer_schema(dates)[0].grid == "month" and infer_schema(dates)[0].pii == ""  # a date is never a phone


def test_limits_on_size_and_width():
    wide = (",".join(f"c{i}" for i in range(600)) + "\n" + ",".join("1" * 600) + "\n").encode()
    with pytest.raises(TableError, match="600 columns; the limit is 500"):
        read_table(wide + wide.split(b"\n")[1] + b"\n", "wide.csv")
    with pytest.raises(TableError, match="the limit is 0 MiB"):
        read_table(b"a,b\n1,2\n3,4\n", "x.csv", max_bytes=5)


def test_delimiter_encoding_empty_columns_and_parquet(tmp_path):
    text = "name;city;score;empty\nJosé;Zürich;1,5;\nAnna;Köln;2,5;\n" + "Léa;Genève;3,5;\n" * 3
    df, info = read_table(text.encode("latin-1"), "x.csv")
    assert info.delimiter == ";" and info.encoding.lower().replace("_", "-") in ("cp1252", "latin-1", "iso-8859-1",
                                                                               "windows-1252", "cp1250", "iso8859-1")
    assert list(df.columns) == ["name", "city", "score"] and df["city"].tolist()[:3] == ["Zürich", "Köln", "Genève"]
    assert info.warnings == ["dropped 1 all-empty column(s): empty."]
    pd.DataFrame({"x": [1, 2, 3, 4, 5]}).to_parquet(tmp_path / "t.parquet")
    df, info = read_table(tmp_path / "t.parquet")
    assert info.format == "parquet" and df["x"].tolist() == [1, 2, 3, 4, 5]


def test_schema_types_personal_data_and_overrides():
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "email": [f"user{i}@example.com" for i in range(n)],
        "phone": [f"+41 44 {i:03d} 12 34" for i in range(n)],
        "last_name": rng.choice(["Meier", "Rossi", "Dupont"], n),
        "product_name": rng.choice(["Widget 3000", "Gadget X"], n),
        "age": rng.integers(18, 90, n).astype(float) + 0.5,
        "member": rng.choice(["yes", "no"], n),
        "joined": pd.date_range("2020-01-01", periods=n).strftime("%d/%m/%Y"),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "mixed": [str(i) if i % 10 else "n/a" for i in range(n)],
        "words": [f"kw{i}x" if i % 10 else "stuff" for i in range(n)],
    })
    df.loc[3, "age"] = np.nan
    schema = {c.name: c for c in infer_schema(df)}
    assert schema["customer_id"].kind == "id"
    assert schema["email"].pii == "email" and schema["email"].kind == "pii"
    assert schema["phone"].pii == "phone" and schema["phone"].kind == "pii"
    assert schema["last_name"].pii == "last_name" and schema["last_name"].kind == "pii"
    assert schema["product_name"].pii == "" and schema["product_name"].kind == "categorical"
    assert schema["age"].kind == "numerical" and schema["age"].missing_rate == pytest.approx(1 / n)
    assert schema["member"].kind == "boolean" and schema["member"].true_value == "yes"
    assert schema["joined"].kind == "datetime" and schema["joined"].datetime_format == "%d/%m/%Y"
    assert schema["mixed"].kind == "numerical" and schema["mixed"].missing_tokens == ["n/a"]
    assert schema["words"].kind == "id" and "identifier" in schema["words"].note  # codes, mostly distinct
    fixed = apply_overrides(list(schema.values()), {"plan": {"kind": "text"}})
    assert {c.name: c.kind for c in fixed}["plan"] == "text" and "set to text by the user" in schema["plan"].note
    with pytest.raises(ValueError, match="kind must be one of"):
        apply_overrides(fixed, {"plan": {"kind": "colour"}})
    frame = prepare(df, fixed)
    assert "customer_id" not in frame and "plan" not in frame and "email" not in frame
    assert frame["joined"].dtype.kind == "M" and frame["mixed"].isna().sum() == 6
    assert set(sdv_metadata(fixed).to_dict()["tables"]["table"]["columns"]) == set(frame.columns)


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(st.one_of(st.none(), st.integers(-5, 99)), min_size=6, max_size=40))
def test_numeric_codes_are_the_same_category_however_they_are_written(codes):
    """A code column read from a CSV as floats (1.0, NaN) and the same codes written back as the CSV wrote them
    ("1.0") or as integers are one category each: the report and auto compare real and synthetic rows typed."""
    from genesis_core.tabular.data.schema import ColumnSpec

    spec = ColumnSpec("code", "categorical", 0.0, dtype="float64")
    floats = pd.DataFrame({"code": [np.nan if c is None else float(c) for c in codes]})
    written = pd.DataFrame({"code": pd.Series([None if c is None else f"{float(c):.1f}" for c in codes], dtype=object)})
    ints = pd.DataFrame({"code": pd.array(codes, dtype="Int64")})
    typed = [prepare(f, [spec])["code"].tolist() for f in (floats, written, ints)]
    assert typed[0] == typed[1] == typed[2]
    text = ColumnSpec("code", "categorical", 0.0, dtype="object")  # text categories keep what they say
    assert prepare(pd.DataFrame({"code": ["1.0", "1", None] * 2}), [text])["code"].tolist()[:2] == ["1.0", "1"]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(300, 3000), share=st.floats(0.012, 0.3), seed=st.integers(0, 10_000))
def test_an_exact_value_over_a_continuum_is_a_point_mass_and_repeated_values_are_not(n, share, seed):
    """A value that holds a share of the rows of a column whose other values occur about once (a balance of
    exactly 0) is a point mass; in a column of whole numbers that all repeat, the most frequent one is not."""
    from genesis_core.tabular.data.schema import _point_masses

    rng = np.random.default_rng(seed)
    zeros = max(int(share * n), 20)
    x = pd.Series(np.r_[np.zeros(zeros), rng.lognormal(6, 1, n - zeros)])
    assert _point_masses(x, x.nunique()) == [0.0]
    counts = pd.Series(rng.integers(0, 40, n).astype(float))  # 40 values, each about n / 40 times
    assert _point_masses(counts, counts.nunique()) == []
