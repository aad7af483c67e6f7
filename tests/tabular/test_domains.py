"""Domain templates as shipped: every template loads (safetensors + JSON, nothing unpickled), draws rows that look
like its real source table (its columns, its categories, numbers within its range) for any row count and seed
(Hypothesis), the same rows for the same seed; `genesis domain` lists and writes them in a real subprocess; a
template folder the workbench did not write is one sentence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.tabular import domains
from genesis_core.tabular.data.schema import category_text
from tests.timeouts import scaled

SOURCES = {key: t.source_table() for key, t in domains.TEMPLATES.items()}


def test_every_template_ships_with_its_figures():
    for key, t in domains.TEMPLATES.items():
        info = domains.read_info(t)
        assert info["columns"] == list(SOURCES[key].columns) and info["rows"] == len(SOURCES[key])
        f = info["figures"]
        assert 0 < f["quality"] <= 1 and 0 <= f["detection_auc"] <= 1 and 0 <= f["held_out_detection_auc"] <= 1
        assert f["exact_copy_rate"] <= max(0.05, 2 * f["held_out_copy_rate"])  # passing for real is not copying
        report = json.loads((domains.folder_of(t) / "report.json").read_text())
        assert abs(report["quality"]["quality_score"] - f["quality"]) < 1e-3  # the figures are the report's
        assert not list((domains.folder_of(t) / "generator").rglob("*.pkl"))  # nothing to unpickle


@settings(max_examples=8, deadline=None, derandomize=True)
@given(key=st.sampled_from(sorted(domains.TEMPLATES)), rows=st.integers(1, 400), seed=st.integers(0, 10_000))
def test_rows_look_like_the_source_table(key, rows, seed):
    source = SOURCES[key]
    frame, _ = domains.sample_template(domains.TEMPLATES[key], rows, seed)
    assert list(frame.columns) == list(source.columns) and len(frame) == rows
    for c in source.columns:
        real, got = source[c].dropna(), frame[c].dropna()
        if pd.api.types.is_numeric_dtype(real) and real.nunique() > 2:
            values = pd.to_numeric(got)
            assert values.min() >= real.min() - 1e-9 and values.max() <= real.max() + 1e-9, c
        else:  # categories compared typed: a code 0.0 and "0" are one category (schema.category_text)
            numeric = pd.api.types.is_numeric_dtype(real)
            assert set(category_text(got, numeric)) <= set(category_text(real, numeric)), c
    again, _ = domains.sample_template(domains.TEMPLATES[key], rows, seed)
    pd.testing.assert_frame_equal(frame, again)


def test_the_cli_lists_and_writes_rows_drawn_given_a_condition(workspace, tmp_path):
    env = os.environ.copy()

    def genesis(*args):
        return subprocess.run([sys.executable, "-m", "genesis_core", "domain", *args], capture_output=True, text=True,
                              env=env, timeout=scaled(300))

    listed = genesis("list")
    assert listed.returncode == 0 and listed.stdout.count("detection AUC") == len(domains.TEMPLATES)
    out = genesis("finance", "-t", "credit_applications", "-n", "80", "-o", str(tmp_path / "credit.csv"),
                  "--condition", "card=yes@50%", "--seed", "3")
    assert out.returncode == 0, out.stderr
    credit = pd.read_csv(tmp_path / "credit.csv")
    assert len(credit) == 80 and (credit["card"] == "yes").sum() >= 40
    assert "condition card=yes" in out.stdout
    bad = genesis("banking", "-t", "loans", "-o", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and "no domain 'banking'; the domains are finance, healthcare" in bad.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_template_folder_the_workbench_did_not_write_is_one_sentence(tmp_path):
    t = domains.TEMPLATES["healthcare/patient_cohort"]
    with pytest.raises(domains.DomainError, match="is not built here"):
        domains.load_generator(t, tmp_path)
    shutil.copytree(domains.folder_of(t), domains.folder_of(t, tmp_path))
    info = json.loads((domains.folder_of(t, tmp_path) / "template.json").read_text())
    for change in ({"version": 99}, {"template": "finance/credit_applications"}, {"figures": {"quality": "great"}}):
        (domains.folder_of(t, tmp_path) / "template.json").write_text(json.dumps({**info, **change}))
        with pytest.raises(domains.DomainError, match="is not a template the workbench wrote") as err:
            domains.load_generator(t, tmp_path)
        assert "\n" not in str(err.value)
    (domains.folder_of(t, tmp_path) / "template.json").write_text(json.dumps(info))
    (domains.folder_of(t, tmp_path) / "generator" / "generator.json").write_text("{not json")
    with pytest.raises(domains.DomainError, match="cannot be loaded"):
        domains.load_generator(t, tmp_path)
    assert np.isfinite(domains.read_info(t, tmp_path)["figures"]["quality"])
