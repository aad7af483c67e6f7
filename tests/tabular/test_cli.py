"""generate, report and privacy-audit from the terminal, in real subprocesses."""

import json

import pandas as pd
import pytest

from tests.test_cli import cli


@pytest.mark.slow
def test_generate_report_and_audit(workspace, tmp_path):
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
    from genesis_core.tabular.demos import load_demo
    load_demo("penguins").to_csv(real, index=False)
    html = tmp_path / "r.html"
    rep = cli("report", "-r", str(real), "-s", str(out), "--target", "species", "--quasi-identifiers", "island,sex",
              "--sensitive", "species", "-o", str(html))
    assert rep.returncode == 0, rep.stderr
    text = html.read_text()
    assert "<h2>Privacy</h2>" in text and "plotly" in text.lower() and "ML utility: species" in text

    audit = cli("privacy-audit", "-r", str(real), "-s", str(out), "--quasi-identifiers", "island,sex,body_mass_g",
                "--enforce-k", "3", "-o", str(tmp_path / "released.csv"))
    assert audit.returncode == 0 and "k=" in audit.stdout and "exact_copy_rate" in audit.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,a\n1,2,3\n4,5,6\n")
    err = cli("generate", "-i", str(bad), "-o", str(tmp_path / "x.csv"))
    assert err.returncode == 2 and err.stderr.strip() == (
        "error: the header names 'a' more than once; column names must be unique.")
