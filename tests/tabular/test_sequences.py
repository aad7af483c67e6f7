"""Synthetic sequences (PAR, TimeGAN) and related tables (HMA): real data that ships in statsmodels, real fits,
the CLI in subprocesses, and one sentence for each kind of bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.data.ingest import TableError
from genesis_core.tabular.evaluation.sequences import (
    acf_similarity,
    cross_correlation_similarity,
    discriminative_score,
    nearest_sequence_privacy,
    predictive_scores,
)
from genesis_core.tabular.sequential.generators import SequenceGenerator, make_sequence_generator, prepare_sequences
from tests.test_cli import cli, cli_here


def sines(n: int = 60, steps: int = 24, seed: int = 0) -> pd.DataFrame:
    """Two channels per sequence: a sine of random frequency and phase, and its lagged, noisy copy; the
    amplitude is the sequence's context."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        f, ph, amp = rng.uniform(0.2, 0.5), rng.uniform(0, np.pi), rng.choice([1.0, 2.0])
        t = np.arange(rng.integers(steps - 6, steps + 1))
        a = amp * np.sin(f * t + ph)
        rows.append(pd.DataFrame({"id": i, "t": t, "amp": amp, "a": a,
                                  "b": np.r_[0, a[:-1]] + rng.normal(0, 0.05, len(t))}))
    return pd.concat(rows, ignore_index=True)


def arrays(frame: pd.DataFrame, key: str = "id", channels=("a", "b")) -> list[np.ndarray]:
    return [g[list(channels)].to_numpy(np.float32) for _, g in frame.groupby(key)]


def test_a_table_without_sequences_an_unorderable_index_and_a_missing_key_each_get_one_sentence():
    flat = load_demo("penguins").assign(row=lambda d: range(len(d)))
    with pytest.raises(TableError, match="every value of 'row' has one row"):
        prepare_sequences(flat, "row")
    data = sines(10)
    data["t"] = data["t"].map(lambda v: f"step {v}")
    with pytest.raises(TableError, match="neither a number nor a date"):
        prepare_sequences(data, "id", "t")
    with pytest.raises(TableError, match="'patient' is not a column"):
        prepare_sequences(data, "patient")
    with pytest.raises(TableError, match="at least 2 sequences"):
        prepare_sequences(sines(1), "id", "t")
    prepare_sequences(sines(3), "id", "t")  # few, but PAR fits them (the run warns)


def test_the_spec_finds_context_and_orders_dates():
    frame, spec = prepare_sequences(load_demo("modechoice"), "individual", "mode")
    assert spec.context == ["hinc", "psize"] and set(spec.channels) == {"choice", "ttme", "invc", "invt", "gc"}
    shuffled = sines(8).sample(frac=1, random_state=0)
    shuffled["t"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(shuffled["t"], unit="D")).dt.strftime("%d.%m.%Y")
    frame, spec = prepare_sequences(shuffled, "id", "t")
    assert spec.index_kind == "datetime"
    assert all(g["t"].is_monotonic_increasing for _, g in frame.groupby("id"))


def test_sequence_figures_tell_real_from_noise():
    real, other = arrays(sines(60, seed=0)), arrays(sines(60, seed=1))
    rng = np.random.default_rng(0)
    shuffled = [a[rng.permutation(len(a))] for a in other]  # the same values, the order lost
    assert acf_similarity(real, other, 5) > 0.95 > acf_similarity(real, shuffled, 5) + 0.1
    apart = [np.stack([a[rng.permutation(len(a)), j] for j in range(2)], 1) for a in other]  # channels unlinked
    assert cross_correlation_similarity(real, other) > cross_correlation_similarity(real, apart) + 0.1
    assert discriminative_score(real, other, steps=300) < 0.2 < discriminative_score(real, shuffled, steps=300)
    same, lost = predictive_scores(real, other, steps=300), predictive_scores(real, shuffled, steps=300)
    assert same["tstr_mae"] < lost["tstr_mae"] and same["tstr_mae"] < 1.5 * same["trtr_mae"]


def test_copied_sequences_are_found_by_the_nearest_sequence_privacy_figures():
    train, holdout = arrays(sines(40, seed=0)), arrays(sines(20, seed=1))
    copies = nearest_sequence_privacy(train, holdout, train[:20])
    fresh = nearest_sequence_privacy(train, holdout, arrays(sines(20, seed=2)))
    assert copies["exact_copies"] == 20 and copies["share_closer_to_train"] == 1.0
    assert fresh["exact_copies"] == 0 and abs(fresh["share_closer_to_train"] - fresh["share_ideal"]) < 0.3


def test_timegan_trains_its_three_phases_keeps_context_and_learns_the_dynamics(tmp_path, workspace):
    frame, spec = prepare_sequences(sines(60), "id", "t")
    assert spec.context == ["amp"] and spec.numeric_channels == ["a", "b"]
    phases = []
    gen = make_sequence_generator("timegan", epochs=60, hidden=16).fit(frame, spec,
                                                                       lambda d, n, m: phases.append(m.split()[1]))
    assert {"embedding", "supervisor", "joint"} <= set(phases)
    synth = gen.sample(40, seed=3)
    prepared, _ = prepare_sequences(synth, "id", "t")
    assert (prepared.groupby("id")["amp"].nunique() == 1).all() and set(prepared["amp"]) <= {1.0, 2.0}
    lengths = prepared.groupby("id").size()
    assert lengths.between(2, 24).all() and synth["id"].nunique() == 40
    assert (prepared.groupby("id")["t"].diff().dropna() >= 0).all()
    real = arrays(frame)
    shuffled = [a[np.random.default_rng(0).permutation(len(a))] for a in real]
    # the sequences move as sines do, far more than the same values in random order
    assert acf_similarity(real, arrays(prepared), 5) > acf_similarity(real, shuffled, 5) + 0.05
    gen.save(tmp_path / "g")
    again = SequenceGenerator.load(tmp_path / "g").sample(40, seed=3)
    pd.testing.assert_frame_equal(again, synth)


@pytest.mark.slow
def test_par_from_the_cli_keeps_context_constant_and_writes_a_report(workspace, tmp_path, capsys):
    out = tmp_path / "modes.csv"
    run = cli("generate", "-i", "demo:modechoice", "-o", str(out), "-m", "par", "--sequence-key", "individual",
              "--sequence-index", "mode", "-n", "30", "--epochs", "8", "--holdout-fraction", "0.2")
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout and "30 sequences" in run.stdout and "Discriminative score" in run.stdout
    synth = pd.read_csv(out)
    assert synth["individual"].nunique() == 30
    assert (synth.groupby("individual")[["hinc", "psize"]].nunique() == 1).all().all()
    report = json.loads(out.with_suffix(".report.json").read_text())
    q = report["quality"]
    assert report["meta"]["kind"] == "sequences" and 0 <= q["step_marginals"] <= 1
    assert q["reference"]["column_shapes"] > 0.5 and "share_closer_to_train" in report["privacy"]
    assert "Real and synthetic sequences" in out.with_suffix(".report.html").read_text()

    bad = cli_here(capsys, "generate", "-i", "demo:penguins", "-o", str(tmp_path / "x.csv"), "-m", "par", "--sequence-key",
              "bill_length_mm")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_related_tables_from_a_folder_resolve_every_key(workspace, tmp_path, capsys):
    from genesis_core.tabular.data.demos import load_demo_tables

    folder = tmp_path / "tables"
    folder.mkdir()
    tables = load_demo_tables("modechoice")
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    out = tmp_path / "synth"
    run = cli_here(capsys, "generate", "-i", str(folder), "-o", str(out), "--scale", "0.5")
    assert run.returncode == 0, run.stderr
    travellers, options = pd.read_csv(out / "travellers.csv"), pd.read_csv(out / "options.csv")
    assert abs(len(travellers) - 105) <= 2 and options["individual"].isin(travellers["individual"]).all()
    report = json.loads((out / "report.json").read_text())
    (rel,) = report["relationships"]
    assert rel["foreign_keys_resolve"] == 1.0 and rel["children_per_parent_similarity"] > 0.5
    assert {t["table"] for t in report["tables"]} == {"travellers", "options"}
    assert "foreign keys resolve 1.000" in run.stdout

    # keys that do not join: one sentence, nothing written
    pd.DataFrame({"id": range(10), "x": range(10)}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"bid": range(20), "a_id": range(100, 120), "y": range(20)}).to_csv(tmp_path / "b.csv", index=False)
    bad = cli_here(capsys, "generate", "-i", str(tmp_path / "a.csv"), "-i", str(tmp_path / "b.csv"), "-o", str(tmp_path / "o"),
              "--relationship", "a.id:b.a_id")
    assert bad.returncode == 2 and "the keys do not join" in bad.stderr and bad.stderr.count("\n") == 1
    assert not list((tmp_path / "o").glob("*.csv"))


def test_related_tables_name_orphans_and_check_parent_keys():
    from genesis_core.tabular.multi_table.related_tables import drop_orphans, table_metadata

    parents = pd.DataFrame({"pid": range(20), "size": np.arange(20) % 3})
    children = pd.DataFrame({"cid": range(60), "pid": np.r_[np.arange(58) % 20, 99, 98], "v": np.arange(60.0)})
    md = table_metadata({"p": parents, "c": children}, ["p.pid:c.pid"])
    kept, notes = drop_orphans({"p": parents, "c": children}, md)
    assert len(kept["c"]) == 58 and notes == ["c: 2 row(s) name a p.pid that does not exist; left out"]
    with pytest.raises(TableError, match="repeats"):
        table_metadata({"p": pd.concat([parents, parents.head(2)]), "c": children}, ["p.pid:c.pid"])
    with pytest.raises(TableError, match="must read parent_table.key:child_table.foreign_key"):
        table_metadata({"p": parents, "c": children}, ["p-pid"])


def test_scoring_sequences_counts_its_parts_and_stops_between_them(tmp_path):
    from genesis_core.config import from_dict
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    data = sines(8)
    data.to_csv(tmp_path / "s.csv", index=False)
    cfg = from_dict(TabularSynthesisConfig, {"source": str(tmp_path / "s.csv"), "sequence_key": "id",
                                             "sequence_index": "t", "generator": "par", "epochs": 2})
    said = []
    synthesize(cfg, tmp_path / "out", lambda d, n, m: said.append(m))
    counted = [m for m in said if m.startswith("scoring sequences ")]
    assert counted and counted[0].startswith("scoring sequences 1/") and "nearest-sequence privacy" in counted[-1]
    total = counted[0].split("/")[1].split(":")[0]
    assert counted[-1].startswith(f"scoring sequences {total}/{total}")
    calls = {"n": 0}

    def stop_in_scoring():
        calls["n"] += 1
        return any(m.startswith("scoring sequences 2/") for m in said)

    said.clear()
    with pytest.raises(InterruptedError):
        synthesize(cfg, tmp_path / "out2", lambda d, n, m: said.append(m), stop_in_scoring)
    assert not (tmp_path / "out2" / "report.json").exists()
