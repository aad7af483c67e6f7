import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from genesis_core.store.metrics import MetricsReader, MetricsWriter


def test_scalars_and_events_round_trip(tmp_path):
    w = MetricsWriter(tmp_path / "m.db", flush_every=3)
    for step in range(1, 6):
        w.log_scalars(step, {"loss": 1.0 / step, "lr": 0.1})
    w.log_event(5, "spike", "loss spiked", value=3.5)
    r = MetricsReader(tmp_path / "m.db")
    assert len(r.series("loss")) == 5  # log_event flushed what was pending
    w.close()
    assert r.keys() == ["loss", "lr"]
    assert r.latest() == {"loss": 0.2, "lr": 0.1}
    ev = r.events()
    assert ev.iloc[0]["kind"] == "spike" and ev.iloc[0]["data"] == {"value": 3.5}


def test_truncate_after_drops_later_rows(tmp_path):
    w = MetricsWriter(tmp_path / "m.db")
    for step in range(1, 11):
        w.log_scalars(step, {"loss": float(step)})
    w.log_event(8, "spike", "x")
    w.truncate_after(5)
    w.close()
    r = MetricsReader(tmp_path / "m.db")
    assert r.series("loss")["step"].tolist() == [1, 2, 3, 4, 5]
    assert r.events().empty


def test_reader_of_a_missing_file_is_empty(tmp_path):
    r = MetricsReader(tmp_path / "none.db")
    assert r.keys() == [] and r.scalars().empty and r.latest() == {}
def test_empty_frames_keep_their_columns(tmp_path):
    r = MetricsReader(tmp_path / "none.db")
    assert list(r.series("loss").columns) == ["step", "wall", "value"]
    assert list(r.events().columns) == ["step", "wall", "kind", "message", "data"]


def test_sparkline_is_evenly_spaced_and_ends_near_the_newest(tmp_path):
    w = MetricsWriter(tmp_path / "m.db")
    for step in range(1, 201):
        w.log_scalars(step, {"loss": float(step)})
    w.close()
    line = MetricsReader(tmp_path / "m.db").sparkline("loss", points=20)
    assert len(line) == 20 and line == sorted(line) and line[-1] >= 190
    assert MetricsReader(tmp_path / "none.db").sparkline("loss") == []


def test_rows_are_committed_by_time_as_well_as_by_count(tmp_path):
    import time

    w = MetricsWriter(tmp_path / "m.db", flush_every=10_000, flush_seconds=0.2)
    r = MetricsReader(tmp_path / "m.db")
    w.log_scalars(1, {"loss": 1.0})
    assert r.series("loss").empty  # buffered: far below the count
    time.sleep(0.3)
    w.log_scalars(2, {"loss": 0.5})  # the time bound passed: both rows are committed now
    assert r.series("loss")["step"].tolist() == [1, 2]
    w.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.tuples(st.integers(1, 300), st.sampled_from(["none", "passive", "truncate", "reopen"])),
                        min_size=1, max_size=6))
@example(batches=[(300, "passive"), (1, "none")])  # the log restarts from its beginning at the same size
@example(batches=[(1, "passive"), (1, "none"), (1, "none")])  # two commits into a restarted log, same size (CI)
def test_a_reader_never_serves_rows_older_than_the_last_commit(tmp_path_factory, batches):
    """Reads are kept until a writer commits again: after every commit, whatever the write-ahead log did (grew,
    was checkpointed into the file, restarted from its beginning, the writer closed and reopened), every view reads
    exactly the rows written so far."""
    import sqlite3

    path = tmp_path_factory.mktemp("m") / "metrics.db"
    writer, step = MetricsWriter(path, flush_every=10_000, flush_seconds=1e9), 0
    reader = MetricsReader(path)
    for rows, then in batches:
        for _ in range(rows):
            step += 1
            writer.log_scalars(step, {"loss": float(step)})
        writer.flush()
        if then in ("passive", "truncate"):
            conn = sqlite3.connect(path)
            conn.execute(f"PRAGMA wal_checkpoint({then.upper()})")
            conn.close()
        elif then == "reopen":
            writer.close()
            writer = MetricsWriter(path, flush_every=10_000, flush_seconds=1e9)
        assert reader.series("loss")["step"].tolist() == list(range(1, step + 1))
        assert reader.step_range("loss") == (1, step, step)
        assert reader.latest() == {"loss": float(step)}
        series = reader.series("loss")
        series["value"] = -1.0  # a caller changing its frame changes no later read
        assert reader.series("loss")["value"].iloc[-1] == float(step)
    writer.close()


def test_new_files_hold_a_covering_index_and_old_ones_keep_theirs(tmp_path):
    import sqlite3

    def indexes(path):
        conn = sqlite3.connect(path)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        conn.close()
        return names

    new = tmp_path / "new.db"
    MetricsWriter(new).close()
    assert indexes(new) == {"scalars_key_step_value"}
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript("CREATE TABLE scalars (step INTEGER NOT NULL, wall REAL NOT NULL, key TEXT NOT NULL, "
                       "value REAL NOT NULL); CREATE INDEX scalars_key_step ON scalars (key, step);")
    conn.close()
    w = MetricsWriter(old)
    w.log_scalars(1, {"loss": 2.0})
    w.close()
    assert indexes(old) == {"scalars_key_step"}  # no index built over a long run's rows when it resumes
    assert MetricsReader(old).series("loss")["value"].tolist() == [2.0]


def test_a_running_job_keeps_one_cached_frame_per_query_and_the_cache_stays_within_its_rows(tmp_path):
    """A page polling a live run reads after every commit: each query keeps its newest frame only, and a cache with
    a small row budget evicts the oldest frames (an empty frame counts as a row) instead of growing."""
    from genesis_core.store import metrics

    path = tmp_path / "live.db"
    writer, reader = MetricsWriter(path, flush_every=1), MetricsReader(path)
    for step in range(1, 40):
        writer.log_scalars(step, {"loss": 1.0 / step})
        reader.series("loss"), reader.series("never logged"), reader.latest()
    writer.close()
    mine = [k for k in metrics._CACHE._frames if k[0] == str(path)]
    assert len(mine) == 3  # one per query, not one per commit
    small = metrics._ReadCache(max_rows=50)
    for i in range(200):
        small.put(("f", i), ("sig",), pd.DataFrame({"v": range(i % 7)}))
        assert small.rows <= 50
    assert small.get(("f", 199), ("sig",)) is not None and small.get(("f", 0), ("sig",)) is None
    assert small.get(("f", 199), ("other",)) is None  # a frame read before the last commit is never served


def test_a_replaced_file_is_read_afresh_and_open_connections_stay_within_their_limit(tmp_path):
    """A metrics file replaced by another (a restored run) is read from the new file, not from the connection kept
    for the old one; the kept connections are bounded."""
    import os

    from genesis_core.store import metrics

    path = tmp_path / "metrics.db"
    for value, name in ((1.0, "a.db"), (2.0, "b.db")):
        w = MetricsWriter(tmp_path / name)
        w.log_scalars(1, {"loss": value})
        w.close()
    os.replace(tmp_path / "a.db", path)
    reader = MetricsReader(path)
    assert reader.series("loss")["value"].tolist() == [1.0]
    os.replace(tmp_path / "b.db", path)
    assert reader.series("loss")["value"].tolist() == [2.0]
    pool = metrics._Connections(limit=3)
    for i in range(8):
        w = MetricsWriter(tmp_path / f"{i}.db")
        w.close()
        assert pool.get(tmp_path / f"{i}.db") is not None
        assert len(pool._open) <= 3
    assert pool.get(tmp_path / "missing.db") is None
