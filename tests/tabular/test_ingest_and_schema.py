import numpy as np
import pandas as pd
import pytest

from genesis_core.tabular.ingest import TableError, read_table
from genesis_core.tabular.schema import apply_overrides, infer_schema, prepare, sdv_metadata


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty."),
    (b"a,b,c\n", "the file has a header but no rows."),
    (b"a,b\n1,2\n", "the table has one row"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "the file looks binary"),
    (b"a,b,a\n1,2,3\n4,5,6\n", "the header names 'a' more than once"),
])
def test_bad_files_get_one_sentence(content, message):
    with pytest.raises(TableError) as err:
        read_table(content, "upload.csv")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_limits_on_size_and_width():
    wide = (",".join(f"c{i}" for i in range(600)) + "\n" + ",".join("1" * 600) + "\n").encode()
    with pytest.raises(TableError, match="600 columns; the limit is 500"):
        read_table(wide + wide.split(b"\n")[1] + b"\n", "wide.csv")
    with pytest.raises(TableError, match="the limit is 0 MiB"):
        read_table(b"a,b\n1,2\n3,4\n", "x.csv", max_bytes=5)


def test_delimiter_encoding_empty_columns_and_parquet(tmp_path):
    text = "name;city;score;empty\nJosé;Zürich;1,5;\nAnna;Köln;2,5;\n"
    df, info = read_table(text.encode("latin-1"), "x.csv")
    assert info.delimiter == ";" and info.encoding.lower().replace("_", "-") in ("cp1252", "latin-1", "iso-8859-1",
                                                                               "windows-1252", "cp1250", "iso8859-1")
    assert list(df.columns) == ["name", "city", "score"] and df["city"].tolist() == ["Zürich", "Köln"]
    assert info.warnings == ["dropped 1 all-empty column(s): empty."]
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "t.parquet")
    df, info = read_table(tmp_path / "t.parquet")
    assert info.format == "parquet" and df["x"].tolist() == [1, 2, 3]


def test_schema_types_personal_data_and_overrides():
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "email": [f"user{i}@example.com" for i in range(n)],
        "phone": [f"+41 44 {i:03d} 12 34" for i in range(n)],
        "last_name": rng.choice(["Meier", "Rossi", "Dupont"], n),
        "age": rng.integers(18, 90, n).astype(float) + 0.5,
        "member": rng.choice(["yes", "no"], n),
        "joined": pd.date_range("2020-01-01", periods=n).strftime("%d/%m/%Y"),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "mixed": [str(i) if i % 10 else "n/a" for i in range(n)],
    })
    df.loc[3, "age"] = np.nan
    schema = {c.name: c for c in infer_schema(df)}
    assert schema["customer_id"].kind == "id"
    assert schema["email"].pii == "email" and schema["email"].kind == "id"
    assert schema["phone"].pii == "phone"
    assert schema["last_name"].pii == "name" and schema["last_name"].kind == "categorical"
    assert schema["age"].kind == "numerical" and schema["age"].missing_rate == pytest.approx(1 / n)
    assert schema["member"].kind == "boolean"
    assert schema["joined"].kind == "datetime" and schema["joined"].datetime_format == "%d/%m/%Y"
    assert schema["mixed"].kind == "categorical" and "mixes numbers and text" in schema["mixed"].note
    fixed = apply_overrides(list(schema.values()), {"plan": {"kind": "text"}})
    assert {c.name: c.kind for c in fixed}["plan"] == "text"
    with pytest.raises(ValueError, match="kind must be one of"):
        apply_overrides(fixed, {"plan": {"kind": "colour"}})
    frame = prepare(df, fixed)
    assert "customer_id" not in frame and "plan" not in frame and frame["joined"].dtype.kind == "M"
    assert set(sdv_metadata(fixed).to_dict()["tables"]["table"]["columns"]) == set(frame.columns)
