"""Every column comes back in the input's representation, as a property over generated tables (Hypothesis):
columns that are constant, all missing but one, integers beyond a float's digits, negative zeros, numbers in
scientific notation, fixed decimals, whole numbers, numbers on a grid (multiples of 25 or 0.05: a classifier tells
a value off the grid from one on it), dates on a day or month grid and categories, in tables with
any delimiter, line ending, byte-order mark and encoding the reader accepts.

The fast property runs the whole path but the model: read -> schema -> codec encode -> rows drawn with
replacement, numbers moved by noise (values the data never had, as a model would draw) -> codec decode ->
write -> read back as text. A smaller one runs the same tables through `generate -m gaussian_copula`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_core.tabular.data.codec import TableCodec
from genesis_core.tabular.data.ingest import read_table, table_text
from genesis_core.tabular.pipeline import schema_for


@dataclass
class Column:
    kind: str
    cells: list[str]  # as written in the file ("" = missing)

    def check(self, out: pd.Series) -> str | None:
        """None when every synthetic cell is written as this column writes its values, else what is wrong."""
        values = [v for v in out if isinstance(v, str) and v != ""]
        written = {c for c in self.cells if c != ""}
        if self.kind == "grid":  # every value a multiple of the grid the input's values lie on
            step = float(self.cells[-1])
            off = [v for v in values if abs(float(v) / step - round(float(v) / step)) > 1e-6]
            return f"grid {step:g}: {off[:3]} off it" if off else None
        patterns = {"decimals": None, "whole": r"-?\d+", "huge": r"-?\d{16,}", "exponent": r"\d+(\.\d+)?e\d+",
                    "day": r"\d{4}-\d{2}-\d{2}", "month": r"\d{4}-\d{2}-01", "negzero": r"-?\d+\.\d"}
        if self.kind in ("constant", "one_value", "category"):
            bad = [v for v in values if v not in written]
        elif self.kind == "decimals":
            places = len(next(iter(written)).split(".")[1])
            bad = [v for v in values if not re.fullmatch(rf"-?\d+\.\d{{{places}}}", v)]
        else:
            bad = [v for v in values if not re.fullmatch(patterns[self.kind], v)]
        if self.kind == "negzero" and "-0.0" in written and "0.0" in written and values:
            zeros = [v for v in values if v in ("0.0", "-0.0")]
            if zeros and not any(v == "-0.0" for v in zeros) and len(zeros) > 20:
                bad.append("no -0.0 among the zeros")
        return f"{self.kind}: {bad[:3]} not like {sorted(written)[:3]}" if bad else None


def _column(draw, n: int) -> Column:
    kind = draw(st.sampled_from(["constant", "one_value", "huge", "negzero", "exponent", "decimals", "whole",
                                 "grid", "day", "month", "category"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "constant":
        value = draw(st.sampled_from(["0.0", "0", "1.50", "7", "-3.25", "x", "1e3"]))
        cells = [value] * n
    elif kind == "one_value":
        cells = [""] * n
        cells[int(rng.integers(n))] = draw(st.sampled_from(["0.0", "5", "abc", "2.5"]))
    elif kind == "huge":
        digits = draw(st.integers(17, 200))
        repeat = draw(st.booleans())
        pool = [str(int(rng.integers(1, 10))) + "".join(map(str, rng.integers(0, 10, digits - 1)))
                for _ in range(3 if repeat else n)]
        cells = [("-" if draw(st.booleans()) and i % 4 == 0 else "") + pool[i % len(pool)] for i in range(n)]
    elif kind == "negzero":
        cells = [("-0.0", "0.0", f"{rng.uniform(1, 9):.1f}")[i % 3] for i in range(n)]
    elif kind == "exponent":
        cells = [f"{int(rng.integers(40, 90))}e3" for _ in range(n)]
    elif kind == "decimals":
        places = draw(st.integers(1, 4))
        cells = [f"{rng.normal(10, 5):.{places}f}" for _ in range(n)]
    elif kind == "whole":
        cells = [str(int(v)) for v in rng.integers(-500, 500, n)]
    elif kind == "grid":  # the step itself is the last cell, so the check knows it and the gcd is the step
        step, places = draw(st.sampled_from([(25, 0), (5, 0), (1000, 0), (0.05, 2), (0.25, 2), (2.5, 1)]))
        cells = [f"{k * step:.{places}f}" for k in rng.integers(40, 40 + 3 * n, n - 1)] + [f"{step:.{places}f}"]
    elif kind == "day":
        days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
        cells = [d.strftime("%Y-%m-%d") for d in days]
    elif kind == "month":
        months = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 60, n) * 31, unit="D")
        cells = [d.replace(day=1).strftime("%Y-%m-%d") for d in months]
    else:
        cells = [str(rng.choice(["Zürich", "Genève", "Bern", "Lugano"])) for _ in range(n)]
    if kind not in ("constant", "one_value") and draw(st.booleans()):  # some missing cells
        for i in rng.choice(n - 1, max(1, n // 10), replace=False):
            cells[int(i)] = ""
    return Column(kind, cells)


@st.composite
def tables(draw):
    n = draw(st.integers(30, 80))
    width = draw(st.integers(1, 5))
    columns = [_column(draw, n) for _ in range(width)]
    columns.append(Column("decimals", [f"{v:.2f}" for v in np.random.default_rng(n).normal(0, 1, n)]))  # a model
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    header = delimiter.join(f"c{i}" for i in range(len(columns)))
    body = newline.join(delimiter.join(c.cells[i] for c in columns) for i in range(n))
    return columns, (header + newline + body + newline).encode(encoding), delimiter


def _round_trip(raw: bytes, seed: int) -> tuple[pd.DataFrame, str]:
    frame, info = read_table(raw, "t.csv")
    schema = schema_for(frame, (), "replace", info.number_formats)
    codec = TableCodec.fit(frame, schema)
    typed = codec.encode(frame, seed=seed)
    rng = np.random.default_rng(seed)
    drawn = typed.sample(len(typed), replace=True, random_state=seed).reset_index(drop=True)
    for c in codec.model_schema():
        if c.kind == "numerical" and drawn[c.name].notna().any():
            x = drawn[c.name].to_numpy(dtype=float)
            drawn[c.name] = x + rng.normal(0, (np.nanstd(x) or 1.0) * 0.1, len(x))
    text = table_text(codec.decode(drawn, seed=seed), **info.write_options())
    opts = info.write_options()
    back = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=opts["delimiter"], dtype=str, keep_default_na=False)
    return back, text


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tables(), st.integers(0, 1000))
def test_every_column_comes_back_as_it_was_written(case, seed):
    columns, raw, delimiter = case
    back, text = _round_trip(raw, seed)
    assert text.splitlines()[0].lstrip("\ufeff").split(delimiter)[0] == "c0"  # the input's delimiter
    assert list(back.columns) == [f"c{i}" for i in range(len(columns))]
    problems = [p for i, c in enumerate(columns) if (p := c.check(back[f"c{i}"]))]
    assert not problems, problems


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tables())
def test_generate_writes_every_column_as_it_was_written(workspace, tmp_path_factory, case):
    from genesis_core.cli.commands import main

    columns, raw, delimiter = case
    folder = tmp_path_factory.mktemp("gen")
    (folder / "in.csv").write_bytes(raw)
    assert main(["generate", "-i", str(folder / "in.csv"), "-o", str(folder / "out.csv"), "-m", "gaussian_copula",
                 "--no-report"]) == 0
    text = (folder / "out.csv").read_text(encoding="utf-8-sig")
    back = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    problems = [p for i, c in enumerate(columns) if (p := c.check(back[f"c{i}"]))]
    assert not problems, problems
