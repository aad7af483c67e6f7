"""Malformed and unusual tables through `generate -m gaussian_copula` (in process, the CLI's own entry point):
each case of a probe that found values changed, files refused or tracebacks, named after what it checks."""

from __future__ import annotations

import os
import random
import re
import stat

import pandas as pd
import pytest

from genesis_core.cli.commands import main


def generate(tmp_path, name: str, content: str | bytes, *extra: str) -> tuple[int, bytes, str]:
    source = tmp_path / f"{name}.csv"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / f"out_{name}.csv"
    code = main(["generate", "-i", str(source), "-o", str(out), "-m", "gaussian_copula", "--no-report", *extra])
    return code, out.read_bytes() if out.exists() else b"", str(out)


def rows(n: int, make) -> str:
    r = random.Random(0)
    return "\n".join(make(r, i) for i in range(n)) + "\n"


def test_integers_beyond_int64_come_back_as_whole_numbers_without_a_traceback(workspace, tmp_path):
    code, out, _ = generate(tmp_path, "huge", "a,b\n" + rows(60, lambda r, i: f"{r.randint(1, 50) * 10**19 + 7},"
                                                                       f"{r.gauss(0, 1):.3f}"))
    assert code == 0
    a = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)["a"]
    assert a.str.fullmatch(r"\d{20,21}").all()


def test_whole_floats_keep_their_point_and_scientific_values_their_grid(workspace, tmp_path):
    code, out, _ = generate(tmp_path, "floats", "x,y\n" + rows(60, lambda r, i: f"{float(r.randint(0, 30))},"
                                                                         f"{r.randint(40, 90)}e3"))
    assert code == 0
    synth = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)
    assert synth["x"].str.fullmatch(r"\d+\.0").all()  # 0.0 stays 0.0, never 0
    assert synth["y"].str.fullmatch(r"\d+e3").all()  # 61e3 stays on its grid of 1,000s
    assert (synth["y"].astype(float) % 1000 == 0).all()


def test_negative_zeros_come_back_in_their_share(workspace, tmp_path):
    content = "z,w\n" + rows(90, lambda r, i: ("-0.0" if i % 3 == 0 else "0.0" if i % 3 == 1 else
                                               f"{r.uniform(1, 9):.1f}") + f",{r.gauss(0, 1):.2f}")
    code, out, _ = generate(tmp_path, "zeros", content, "-n", "600")
    assert code == 0
    z = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)["z"]
    zeros = z[z.isin(["0.0", "-0.0"])]
    assert len(zeros) > 100 and 0.3 < (zeros == "-0.0").mean() < 0.7


def test_byte_order_mark_crlf_and_a_blank_header_are_kept(workspace, tmp_path):
    body = "\r\n".join(["a,b,,d"] + [f"{i * 0.37 % 5:.2f},{'xyz'[i % 3]},{i % 9},{(i * 0.13) % 2:.1f}"
                                     for i in range(60)]) + "\r\n"
    code, out, _ = generate(tmp_path, "bom", b"\xef\xbb\xbf" + body.encode())
    assert code == 0
    assert out.startswith(b"\xef\xbb\xbfa,b,,d\r\n")
    assert out.count(b"\r\n") == out.count(b"\n") == 61
    assert b"Unnamed" not in out and b"column_3" not in out


def test_trailing_zeros_of_fixed_decimals_are_kept(workspace, tmp_path):
    code, out, _ = generate(tmp_path, "fixed", "p,q\n" + rows(60, lambda r, i: f"{r.uniform(0, 9):.2f},{i % 4}"))
    assert code == 0
    p = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)["p"]
    assert p.str.fullmatch(r"\d\.\d\d").all()


def test_a_long_unique_cell_is_never_copied_into_synthetic_rows(workspace, tmp_path):
    long_cell = "L" * 200_000
    content = "cat,v\n" + rows(50, lambda r, i: f"{long_cell if i == 0 else r.choice('abc')},{r.gauss(0, 1):.2f}")
    code, out, _ = generate(tmp_path, "long", content, "-n", "400")
    assert code == 0
    synth = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)
    assert len(synth) == 400 and synth["cat"].str.len().max() < 40
    assert set(synth["cat"].dropna()) <= {"a", "b", "c"}


def test_a_single_column_of_0_to_n_is_synthesised_not_refused_as_a_row_number(workspace, tmp_path):
    code, out, _ = generate(tmp_path, "single", "n\n" + rows(60, lambda r, i: str(i)))
    assert code == 0
    n = pd.read_csv(pd.io.common.StringIO(out.decode()))["n"]
    assert len(n) == 60 and n.between(0, 59).all()


@pytest.mark.slow
def test_a_sequence_table_of_4_sequences_is_fitted_with_a_warning(workspace, tmp_path, capsys):
    content = "entity,t,kind,value\n" + rows(48, lambda r, i: f"e{i // 12},{i % 12},{'ab'[i // 12 % 2]},"
                                                                f"{r.gauss(0, 1):.2f}")
    source = tmp_path / "seq.csv"
    source.write_text(content)
    out = tmp_path / "out_seq.csv"
    code = main(["generate", "-i", str(source), "-o", str(out), "--sequence-key", "entity", "--sequence-index", "t",
                 "-m", "par", "--epochs", "3", "--no-report"])
    assert code == 0 and out.exists()
    captured = capsys.readouterr()
    assert "only 4 sequences" in captured.out + captured.err
    assert pd.read_csv(out)["entity"].nunique() == 4


def test_output_csvs_follow_the_umask_like_pandas_and_sdv(workspace, tmp_path):
    old = os.umask(0o022)
    try:
        code, _, path = generate(tmp_path, "mode", "p,q\n" + rows(30, lambda r, i: f"{r.uniform(0, 9):.2f},{i % 4}"))
    finally:
        os.umask(old)
    assert code == 0 and stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_the_cache_and_other_private_folders_stay_private_under_the_same_umask(tmp_path):
    from genesis_core.store.cache import ResultCache

    old = os.umask(0o022)
    try:
        ResultCache(tmp_path / "cache")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    assert re.fullmatch(r"0o7\d\d", oct(stat.S_IMODE((tmp_path / "cache" / "index").stat().st_mode)))


def test_scoring_a_table_counts_its_parts(workspace, tmp_path):
    from genesis_core.config import from_dict
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    cfg = from_dict(TabularSynthesisConfig, {"source": "demo:penguins", "generator": "gaussian_copula",
                                             "target": "species", "quasi_identifiers": ["island", "sex"],
                                             "sensitive": ["species"]})
    said = []
    synthesize(cfg, tmp_path / "out", lambda d, n, m: said.append(m))
    counted = [m for m in said if m.startswith("scoring ")]
    assert [m.split(":")[0] for m in counted] == [f"scoring {i}/5" for i in range(1, 6)]


@pytest.mark.parametrize("spread", ["random", "consecutive", "repeated"])
def test_two_hundred_digit_integers_come_back_digit_for_digit_as_whole_numbers(workspace, tmp_path, spread):
    base = 10**199
    make = {"random": lambda r, i: str(r.randint(base, 9 * base)), "consecutive": lambda r, i: str(base + i),
            "repeated": lambda r, i: str(base + (i % 4) * 7)}[spread]
    code, out, _ = generate(tmp_path, f"digits_{spread}", "big,small\n" + rows(60, lambda r, i: f"{make(r, i)},{i % 7}"))
    assert code == 0
    synth = pd.read_csv(pd.io.common.StringIO(out.decode()), dtype=str)
    assert synth["big"].notna().all() and synth["big"].str.fullmatch(r"\d{200}").all()  # never blank, never rounded
    if spread == "repeated":  # categories: the input's own values, digit for digit
        assert set(synth["big"]) <= {str(base + k * 7) for k in range(4)}
