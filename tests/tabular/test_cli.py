"""generate, report and privacy-audit from the terminal: the first `generate` in a real subprocess, the rest in this
process (what they print; tests/test_cli.py runs the `genesis` process itself)."""

import json

import pandas as pd
import pytest

from tests.test_cli import cli, cli_here


@pytest.mark.slow
def test_generate_report_and_audit(workspace, tmp_path, capsys):
    out = tmp_path / "synth.csv"
    gen = cli("generate", "-i", "demo:penguins", "-o", str(out), "-m", "dp_tvae", "--epsilon", "2", "--epochs", "3",
              "-n", "150", "--target", "species")
    assert gen.returncode == 0, gen.stderr
    assert "[100%] done" in gen.stderr and "wrote" in gen.stdout
    synth = pd.read_csv(out)
    assert len(synth) == 150 and "species" in synth
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["privacy"]["dp"]["epsilon_total"] <= 2.0 + 1e-6 and report["meta"]["generator"] == "dp_tvae"

    real = tmp_path / "real.csv"
    from genesis_core.tabular.data.demos import load_demo
    load_demo("penguins").to_csv(real, index=False)
    html = tmp_path / "r.html"
    rep = cli_here(capsys, "report", "-r", str(real), "-s", str(out), "--target", "species", "--quasi-identifiers", "island,sex",
              "--sensitive", "species", "-o", str(html))
    assert rep.returncode == 0, rep.stderr
    text = html.read_text()
    assert "<h2>Privacy</h2>" in text and "plotly" in text.lower() and "ML utility: species" in text

    audit = cli_here(capsys, "privacy-audit", "-r", str(real), "-s", str(out), "--quasi-identifiers", "island,sex,body_mass_g",
                "--enforce-k", "3", "-o", str(tmp_path / "released.csv"))
    assert audit.returncode == 0 and "k=" in audit.stdout and "exact_copy_rate" in audit.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,a\n1,2,3\n4,5,6\n")
    err = cli_here(capsys, "generate", "-i", str(bad), "-o", str(tmp_path / "x.csv"))
    assert err.returncode == 2 and err.stderr.strip() == (
        "error: the header names 'a' more than once; column names must be unique.")


@pytest.mark.slow
def test_generate_fits_every_row_writes_as_many_and_measures_auto_and_tuning(workspace, tmp_path, capsys):
    from genesis_core.tabular.data.demos import load_demo

    out = tmp_path / "p.csv"
    quick = cli_here(capsys, "generate", "-i", "demo:penguins", "-o", str(out), "-m", "gaussian_copula", "--no-report")
    assert quick.returncode == 0, quick.stderr
    assert len(pd.read_csv(out)) == len(load_demo("penguins")) and not out.with_suffix(".report.json").exists()
    held = cli_here(capsys, "generate", "-i", "demo:penguins", "-o", str(out), "-m", "gaussian_copula", "--holdout-fraction",
               "0.25", "--tune", "3", "--budget", "300")
    assert held.returncode == 0, held.stderr
    meta = json.loads(out.with_suffix(".report.json").read_text())["meta"]
    assert meta["rows_holdout"] == 86 and meta["rows_train"] == 258 and meta["rows_synthetic"] == 344
    assert held.stdout.count("tune: trial") == 3 and "(defaults)" in held.stdout and "[good]" in held.stdout
    auto = cli_here(capsys, "generate", "-i", "demo:penguins", "-o", str(out), "--candidates", "gaussian_copula,tvae",
               "--epochs", "5", "--no-report")
    assert auto.returncode == 0, auto.stderr
    lines = [line for line in auto.stdout.splitlines() if line.startswith("auto:")]
    assert len(lines) == 2 and all("quality" in line for line in lines)
    from genesis_core.cli.commands import main  # the refusal happens before any fit: in-process, no second interpreter

    assert main(["generate", "-i", "demo:penguins", "-o", str(out), "-m", "mst", "--epsilon", "1", "--tune", "2"]) == 2
    assert "spend its privacy budget once per trial" in capsys.readouterr().err


def test_generate_draws_rows_given_conditions_and_counts_them(workspace, tmp_path, capsys):
    import pandas as pd

    from genesis_core.cli.commands import main

    out = tmp_path / "cond.csv"
    assert main(["generate", "-i", "demo:penguins", "-o", str(out), "-m", "gaussian_copula", "-n", "200",
                 "--condition", "species=Gentoo@30%", "--condition", "island=Biscoe", "--no-report"]) == 0
    printed = capsys.readouterr().out
    frame = pd.read_csv(out)
    assert len(frame) == 200 and (frame["island"] == "Biscoe").all()
    assert (frame["species"] == "Gentoo").sum() >= 60  # the 30% drawn given it, and any others the model drew
    assert "condition island=Biscoe, species=Gentoo: 60 of 60 rows" in printed
    assert main(["generate", "-i", "demo:penguins", "-o", str(out), "-m", "gaussian_copula",
                 "--condition", "colour=red"]) == 2
    assert "no such column" in capsys.readouterr().err


def test_the_python_interface_fits_generates_reports_saves_and_loads(workspace, tmp_path):
    """Seed 003's interface: SyntheticGenerator(method, privacy).fit(df) runs the pipeline `generate` runs (a
    release is recorded), generates rows (also given conditions), reports, saves and loads."""
    from genesis_core.tabular.releases.records import list_releases
    from genesis_core.tabular import PrivacyConfig, SyntheticGenerator
    from genesis_core.tabular.data.demos import load_demo

    df = load_demo("penguins")
    gen = SyntheticGenerator(method="gaussian_copula", privacy=PrivacyConfig(holdout_fraction=0.2)).fit(df)
    assert 0 < gen.quality_report()["quality"]["quality_score"] <= 1
    assert gen.release["id"] in {r["id"] for r in list_releases(workspace)[0]}
    rows = gen.generate(50, conditions={"species": "Gentoo"})
    assert len(rows) == 50 and (rows["species"] == "Gentoo").all() and list(rows.columns) == list(df.columns)
    shared = gen.generate(100, conditions=["island=Dream@0.5"])
    assert (shared["island"] == "Dream").sum() >= 50
    again = SyntheticGenerator.load(gen.save(tmp_path / "saved"))
    assert len(again.generate(10)) == 10 and again.quality_report()["quality"]
    private = SyntheticGenerator(method="auto", privacy=PrivacyConfig(epsilon=1.0),
                                 options={"candidates": ["mst"], "report": False}).fit(df)
    assert private.release["privacy"]["statement"].startswith("differentially private")
