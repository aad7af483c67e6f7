"""Comparing runs: curves on every x-axis, raw beside smoothed, groups with bands, queries, parallel coordinates,
config differences, latest metrics, the terminal's compare; fast at 100 runs."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpy as np

from genesis_core.store.compare import config_table, curves, ema, metric_table
from genesis_core.store.metrics import MetricsWriter
from tests.timeouts import scaled


def make_runs(workspace, n, steps=300):
    runs = []
    for i in range(n):
        run = workspace.create_run("image_autoencoder", {"task": "image_autoencoder", "trainer": {"lr": 0.001 * (i + 1),
                                                                                                 "steps": steps}})
        w = MetricsWriter(run.metrics_path)
        for step in range(1, steps + 1):
            w.log_scalars(step, {"loss": 1.0 / (step + i), "tokens": step * 64.0}, wall=1000.0 + step * 0.5)
        w.log_scalars(steps, {"eval/psnr_db": 10.0 + i})
        w.close()
        runs.append(run)
    return runs


def test_curves_configs_and_metrics_of_several_runs(workspace):
    runs = make_runs(workspace, 3)
    frame = curves(runs, "loss", "step", smoothing=0.0, max_points=50)
    assert frame["id"].nunique() == 3 and frame.groupby("id").size().max() <= 51
    assert frame.groupby("id")["x"].max().eq(300).all()  # the last step is always kept
    by_tokens = curves(runs, "loss", "tokens")
    assert by_tokens["x"].max() == 300 * 64
    by_time = curves(runs, "loss", "wall time (s)")
    assert by_time["x"].min() == 0 and by_time["x"].max() == 149.5
    table = config_table(runs)
    assert list(table.columns) == ["run", "id", "trainer.lr"]  # the only key that differs
    assert metric_table(runs)["eval/psnr_db"].tolist() == [10.0, 11.0, 12.0]
    smoothed = ema(np.array([0.0, 10.0, 10.0, 10.0]), 0.5)
    assert smoothed[0] == 0 and 9 < smoothed[-1] < 10  # debiased: no pull towards zero at the start


def test_a_hundred_runs_compare_in_seconds(workspace):
    runs = make_runs(workspace, 100, steps=200)
    t0 = time.perf_counter()
    frame = curves(runs, "loss", "step", smoothing=0.6)
    metric_table(runs)
    config_table(runs)
    # the figure is bench/runs_compare.py's; here only a bound a busy machine keeps (scaled like every wait)
    assert frame["id"].nunique() == 100 and time.perf_counter() - t0 < scaled(30)


def seeded_runs(workspace, seeds=(0, 1, 2), widths=(8, 16), points=120):
    """Runs of a small sweep: a config key that differs (model.latent_dim) and seeds, each with a loss curve and a
    final PSNR that the width sets (plus the seed's offset)."""
    runs = []
    for width in widths:
        for seed in seeds:
            run = workspace.create_run("image_autoencoder", {
                "task": "image_autoencoder", "model": {"latent_dim": width},
                "trainer": {"seed": seed, "best_metric": "eval/psnr_db"}})
            w = MetricsWriter(run.metrics_path)
            for step in range(1, points + 1):
                w.log_scalars(step, {"loss": width / (step + seed)}, wall=100.0 + step)
            for k, step in enumerate(range(20, points + 1, 20)):
                w.log_scalars(step, {"eval/psnr_db": 10.0 + width + seed + k})
            w.close()
            runs.append(run)
    return runs


def test_short_series_stay_raw_and_every_curve_ends_on_its_last_logged_value(workspace):
    from genesis_core.store.compare import MIN_SMOOTHED_POINTS, curves, curves_figure

    runs = seeded_runs(workspace, seeds=(0,), widths=(8,))
    evals = curves(runs, "eval/psnr_db", smoothing=0.9)
    assert len(evals) < MIN_SMOOTHED_POINTS and (evals["value"] == evals["raw"]).all()  # 6 points: not smoothed
    loss = curves(runs, "loss", smoothing=0.9)
    assert not np.allclose(loss["value"], loss["raw"])  # 120 points: smoothed, the raw kept beside it
    fig = curves_figure(loss, "loss", "step")
    names = [t.name for t in fig.data]
    assert any(n.endswith("(raw)") for n in names)
    last = next(t for t in fig.data if t.name == "last logged value")
    assert list(last.y) == [loss["raw"].iloc[-1]] == [8 / 120]  # the real final value, not the smoothed one


def test_a_title_says_which_runs_lack_the_metric_and_the_headline_is_the_best_metric(workspace):
    from genesis_core.store.compare import common_keys, curves, headline_metric, title_of

    runs = seeded_runs(workspace, seeds=(0,), widths=(8, 16))
    bare = workspace.create_run("image_autoencoder", {"task": "image_autoencoder"}, name="no-evals")
    w = MetricsWriter(bare.metrics_path)
    w.log_scalars(1, {"loss": 1.0})
    w.close()
    chosen = [*runs, bare]
    assert headline_metric(chosen, common_keys(chosen)) == "eval/psnr_db"  # not "eval/..." by alphabet, nor loss
    title = title_of("eval/psnr_db", chosen, curves(chosen, "eval/psnr_db"))
    assert title.startswith("eval/psnr_db of 2 of 3 runs") and "no-evals logged no eval/psnr_db" in title


def test_groups_draw_the_mean_of_their_seeds_inside_a_min_max_band(workspace):
    from genesis_core.store.compare import curves, group_curves, group_figure, group_of

    runs = seeded_runs(workspace)
    frame = curves(runs, "eval/psnr_db")
    grouped = group_curves(frame, group_of(runs, "model.latent_dim"))
    assert set(grouped["group"]) == {"8", "16"} and (grouped["n"] == 3).all()
    at = grouped.set_index(["group", "x"])
    # seeds 0, 1, 2 add 0, 1, 2 to 10 + width + k: the mean adds 1, the band spans +0 .. +2
    assert at.loc[("8", 20.0), "mean"] == 19.0 and at.loc[("8", 20.0), "low"] == 18.0
    assert at.loc[("16", 120.0), "high"] == 10 + 16 + 2 + 5
    assert (grouped["low"] <= grouped["mean"]).all() and (grouped["mean"] <= grouped["high"]).all()
    fig = group_figure(grouped, "eval/psnr_db", "step", "model.latent_dim")
    assert [t.name for t in fig.data if t.fill != "toself"] == ["model.latent_dim = 16 (3 runs)",
                                                                "model.latent_dim = 8 (3 runs)"]


def test_a_group_band_never_reaches_beyond_its_runs():
    import pandas as pd

    from genesis_core.store.compare import group_curves

    frame = pd.DataFrame({"run": ["a"] * 3 + ["b"] * 2, "id": ["a"] * 3 + ["b"] * 2,
                          "x": [0, 1, 2, 0, 1], "value": [1.0, 2.0, 3.0, 5.0, 6.0], "raw": [0.0] * 5})
    g = group_curves(frame, {"a": "g", "b": "g"}).set_index("x")
    assert g.loc[2.0, "n"] == 1 and g.loc[2.0, "mean"] == 3.0  # b ended at x = 1: not extrapolated
    assert g.loc[1.0, "n"] == 2 and g.loc[1.0, "mean"] == 4.0


@given(threshold=st.floats(17, 40), width=st.sampled_from([8, 16, 32]),
       op=st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_query_selects_exactly_the_runs_its_clauses_describe(tmp_path_factory, threshold, width, op):
    import operator

    from genesis_core.store.run_query import filter_runs
    from genesis_core.store.workspace import Workspace

    ws = _QUERY_WS.get("ws")
    if ws is None:
        ws = _QUERY_WS["ws"] = Workspace(tmp_path_factory.mktemp("query"))
        _QUERY_WS["runs"] = seeded_runs(ws, seeds=(0, 1), widths=(8, 16, 32), points=40)
    runs = _QUERY_WS["runs"]
    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
               "!=": operator.ne}[op]
    query = f"eval/psnr_db {op} {threshold} and model.latent_dim <= {width}"
    expected = [r for r in runs if compare(10.0 + r.config()["model"]["latent_dim"] + r.config()["trainer"]["seed"] + 1,
                                           threshold) and r.config()["model"]["latent_dim"] <= width]
    assert [r.id for r in filter_runs(runs, query)] == [r.id for r in expected]


_QUERY_WS: dict = {}


def test_a_malformed_query_is_one_sentence_naming_the_clause():
    import pytest

    from genesis_core.store.run_query import QueryError, parse

    with pytest.raises(QueryError, match="cannot read 'psnr is high'"):
        parse("eval/psnr_db > 3 and psnr is high")
    with pytest.raises(QueryError, match="needs a number"):
        parse("task > autoencoder")
    assert parse("") == [] and parse("task = image_autoencoder")[0].value == "image_autoencoder"


def test_parallel_coordinates_and_the_terminal_compare(workspace, capsys, tmp_path):
    from genesis_core.cli.commands import main
    from genesis_core.store.compare import final_table, parallel_figure

    runs = seeded_runs(workspace)
    finals = final_table(runs)
    assert {"model.latent_dim", "trainer.seed", "eval/psnr_db"} <= set(finals.columns)
    fig = parallel_figure(finals.assign(kind=["conv", "mlp"] * 3), ["model.latent_dim", "kind", "eval/psnr_db"],
                          "eval/psnr_db")
    dims = fig.data[0].dimensions
    assert dims[1].ticktext == ("conv", "mlp") and list(dims[2].values) == finals["eval/psnr_db"].tolist()
    out = tmp_path / "panels.html"
    assert main(["runs", "compare", "--group-by", "model.latent_dim", "--plot", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "eval/psnr_db by model.latent_dim (6 runs)" in printed
    row16 = next(line for line in printed.splitlines() if line.startswith("16 "))
    assert row16.split()[1:3] == ["3", "32"]  # 3 runs; final 10 + 16 + seed + 5 averages 32
    html = out.read_text()
    assert "plotly" in html and "psnr_db" in html and "model.latent_dim = 16 (3 runs)" in html  # grouped panels
    assert main(["runs", "compare", "--query", "eval/psnr_db > 1000"]) != 0
    assert "no run to compare matches the query" in capsys.readouterr().err


@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), smoothing=st.floats(0.0, 0.999))
@settings(max_examples=60, deadline=None)
def test_the_filtered_ema_is_tensorboards_debiased_running_average(values, smoothing):
    out = ema(np.array(values), smoothing)
    last = weight = 0.0
    for i, v in enumerate(values):  # the definition, one value at a time
        last = smoothing * last + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        expected = v if smoothing <= 0 else last / weight
        assert abs(out[i] - expected) <= 1e-6 * max(1.0, abs(expected))


@given(n=st.integers(60, 2500), every=st.integers(1, 5), max_points=st.integers(10, 300),
       smoothing=st.sampled_from([0.0, 0.6, 0.95]), seed=st.integers(0, 1000))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_long_series_is_read_in_buckets_that_keep_its_logged_points(tmp_path_factory, n, every, max_points,
                                                                       smoothing, seed):
    """Bucketed in SQLite when longer than max_points: every drawn point is a logged (step, value), the last one
    the run's last; unsmoothed, the value is that raw point; smoothed, it follows the full series' EMA."""
    from genesis_core.store.compare import _long_series
    from genesis_core.store.metrics import MetricsReader
    from genesis_core.store.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("ws"))
    run = ws.create_run("image_autoencoder", {"task": "image_autoencoder"})
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1) * every
    values = np.sin(2 * np.pi * np.arange(n) / n) + rng.normal(0, 0.01, n)
    w = MetricsWriter(run.metrics_path)
    for step, v in zip(steps, values):
        w.log_scalars(int(step), {"loss": float(v)}, wall=float(step))
    w.close()
    frame = curves([run], "loss", smoothing=smoothing, max_points=max_points)
    logged = dict(zip(steps.tolist(), values.tolist()))
    assert len(frame) <= max(max_points, n if n <= max_points else 0) and frame["x"].is_monotonic_increasing
    assert frame["x"].iloc[-1] == steps[-1] and frame["raw"].iloc[-1] == values[-1]
    assert all(abs(logged[int(x)] - r) < 1e-12 for x, r in zip(frame["x"], frame["raw"]))
    if n > max_points:
        assert _long_series(MetricsReader(run.metrics_path), "loss", smoothing, max_points) is not None
        if not smoothing:
            assert (frame["value"] == frame["raw"]).all()
        elif max_points >= 100:  # buckets of at most 1% of the run: the EMA of their means tracks the full one
            full = dict(zip(steps.tolist(), ema(values, smoothing).tolist()))
            assert max(abs(full[int(x)] - v) for x, v in zip(frame["x"], frame["value"])) < 0.1


def test_above_the_legend_threshold_runs_share_a_trace_per_colour_and_keep_every_point(workspace):
    """Forty runs: one raw and one smoothed trace per colour, the runs laid end to end with gaps; every run's
    points are there, each hovered point names its run, and the last logged values stay one trace."""
    from genesis_core.store.compare import LEGEND_RUNS, _colors, curves, curves_figure

    runs = seeded_runs(workspace, seeds=tuple(range(20)), widths=(8, 16))
    assert len(runs) > LEGEND_RUNS
    frame = curves(runs, "loss", smoothing=0.9)
    fig = curves_figure(frame, "loss", "step")
    smooth = [t for t in fig.data if t.name.endswith(" runs")]
    raw = [t for t in fig.data if t.name == "raw"]
    assert len(smooth) == len(raw) == len(set(_colors(len(runs)))) < len(runs)
    assert sum(int(t.name.split()[0]) for t in smooth) == len(runs)
    points = sum(int(np.isfinite(np.asarray(t.y, dtype=float)).sum()) for t in smooth)
    assert points == len(frame)  # no point lost to the merge
    for t in smooth:  # a gap between runs, and each point's hover text is its own run's name
        y = np.asarray(t.y, dtype=float)
        assert np.isnan(y).sum() == int(t.name.split()[0]) - 1
        named = [n for n in t.text if n is not None]
        assert len(named) == np.isfinite(y).sum()
    for (name, run_id), part in frame.groupby(["run", "id"], sort=False):
        label = f"{name} · {run_id[-4:]}"
        t = next(t for t in smooth if label in t.text)
        mine = np.asarray(t.y, dtype=float)[np.array([n == label for n in t.text])]
        assert np.allclose(mine, part["value"].to_numpy())
    assert sum(t.name == "last logged value" for t in fig.data) == 1


@settings(max_examples=60, deadline=None)
@given(runs=st.integers(1, 60), seed=st.integers(0, 10_000), smoothed=st.booleans())
def test_every_run_keeps_its_own_points_whether_drawn_alone_or_sharing_a_colour(runs, seed, smoothed):
    """On generated runs (any count, 1 to 40 points each, short and long): every run's points are drawn, in order,
    under its own name, raw and smoothed alike; above the legend's threshold the runs share one trace per colour."""
    import pandas as pd

    from genesis_core.store.compare import LEGEND_RUNS, _colors, curves_figure

    rng = np.random.default_rng(seed)
    parts = []
    for i in range(runs):
        n = int(rng.integers(1, 41))
        raw = rng.normal(size=n)
        parts.append(pd.DataFrame({"run": f"r{i}", "id": f"run-{i:04d}", "x": np.sort(rng.choice(1000, n, False)),
                                   "raw": raw, "value": raw + 0.5 if smoothed else raw}))
    frame = pd.concat(parts, ignore_index=True)
    lines = [t for t in curves_figure(frame, "loss", "step").data if t.name != "last logged value"]
    shared = runs > LEGEND_RUNS
    smooth = [t for t in lines if t.name != "raw" and not t.name.endswith("(raw)")]
    assert len(smooth) == (len(set(_colors(runs))) if shared else runs)
    assert len(lines) == len(smooth) * (2 if smoothed else 1)  # a raw trace beside each smoothed one, when they differ
    for part in parts:
        label = f"{part['run'].iloc[0]} · {part['id'].iloc[0][-4:]}"
        if shared:  # the run's colour's traces, and its points among them (the raw trace has the same layout)
            line = next(t for t in smooth if label in t.text)
            mine = np.array([n == label for n in line.text])
            raw_line = next((t for t in lines if t.name == "raw" and t.line.color == line.line.color), None)
        else:
            line = next(t for t in smooth if t.name == label)
            mine = np.ones(len(line.y), bool)
            raw_line = next((t for t in lines if t.name == f"{label} (raw)"), None)
        assert np.allclose(np.asarray(line.y, dtype=float)[mine], part["value"].to_numpy())
        assert np.allclose(np.asarray(line.x, dtype=float)[mine], part["x"].to_numpy())
        if smoothed:
            assert np.allclose(np.asarray(raw_line.y, dtype=float)[mine], part["raw"].to_numpy())
    assert sum(int(np.isfinite(np.asarray(t.y, dtype=float)).sum()) for t in smooth) == len(frame)
