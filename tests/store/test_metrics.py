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
