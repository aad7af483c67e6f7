"""`auto` holds every candidate to its slot of the budget, so all of them finish and are scored: the pacing
arithmetic as properties over generated paces and budgets, the autoregressive model's time limit, and a real
selection (candidates in their own processes) where TVAE asked for far more epochs than its slot holds."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.pipeline import schema_for
from genesis_core.tabular.single_table.auto import (PROBE_EPOCHS, final_epochs, paced_epochs, select_generator,
                                                    slot_seconds)
from genesis_core.tabular.single_table.base import make_generator

paces = st.floats(1e-3, 30.0)  # seconds per epoch
seconds = st.floats(0.0, 2000.0)


@settings(max_examples=300, deadline=None)
@given(per_epoch=paces, fixed=st.floats(0.0, 60.0), allowed=seconds, epochs=st.integers(PROBE_EPOCHS, 3000),
       two=st.booleans())
def test_paced_epochs_fit_the_slot_at_the_probes_pace(per_epoch, fixed, allowed, epochs, two):
    """Probes timed as fixed + epochs * per_epoch: two of them recover both, and the epochs chosen fit what the
    slot leaves; one probe counts the fixed costs as epochs and stays within the slot too."""
    probes = [(k, fixed + k * per_epoch) for k in ((PROBE_EPOCHS, 3 * PROBE_EPOCHS) if two else (PROBE_EPOCHS,))]
    n = paced_epochs(probes, allowed, epochs)
    spent = sum(t for _, t in probes)
    assert PROBE_EPOCHS <= n <= epochs
    if n > PROBE_EPOCHS:  # more than the probe's epochs only where they fit beside the probes
        assert spent + fixed + n * per_epoch <= allowed * (1 + 1e-6) + 1e-6
    if two and spent + fixed + epochs * per_epoch <= allowed and per_epoch > 0.05 * (fixed / (3 * PROBE_EPOCHS)
                                                                                    + per_epoch):
        assert n == epochs  # all of them when they fit: the fixed costs are not counted as epochs


@settings(max_examples=300, deadline=None)
@given(fit_s=st.floats(0.01, 600.0), used=st.integers(1, 3000), epochs=st.integers(1, 3000),
       rows_fit=st.integers(10, 8000), extra=st.integers(0, 2000), remaining=st.floats(0.01, 2000.0))
def test_the_winners_epochs_end_within_what_is_left(fit_s, used, epochs, rows_fit, extra, remaining):
    rows_full = rows_fit + extra
    n = final_epochs({"fit_s": fit_s, "epochs": used}, epochs, rows_full, rows_fit, remaining)
    per_epoch = fit_s / used * rows_full / rows_fit
    assert 1 <= n <= epochs
    if n > 1:
        assert n * per_epoch <= remaining * (1 + 1e-9)


@given(budget=st.floats(1.0, 1000.0), candidates=st.integers(1, 8), parallel=st.integers(1, 4))
def test_slots_run_in_turn_within_the_budget(budget, candidates, parallel):
    slot = slot_seconds(budget, candidates, parallel)
    in_turn = -(-candidates // parallel)  # the candidates one lane runs one after another
    assert slot * in_turn <= budget * (1 + 1e-9)
    assert slot * (in_turn + 1) > budget  # and no less than that allows


def test_the_autoregressive_model_stops_at_its_time_limit_with_its_best_weights():
    frame = load_demo("penguins")
    schema = schema_for(frame)
    t0 = time.monotonic()
    gen = make_generator("autoregressive", seed=0, time_limit_s=1.0, max_steps=100_000).fit(frame, schema)
    assert gen.fit_info["stopped"] == "time limit" and gen.fit_info["steps"] < 100_000
    assert time.monotonic() - t0 < 60  # the limit, the codec and the model's set-up; not 100,000 steps
    assert len(gen.sample(20, seed=1)) == 20


def test_every_candidate_finishes_within_its_slot(workspace):
    """TVAE asked for 5,000 epochs (minutes on this table) gets the epochs its slot holds; the autoregressive
    model gets a time limit; both are scored within the budget."""
    frame = load_demo("penguins")
    schema = schema_for(frame)
    budget = 60.0
    t0 = time.monotonic()
    name, board = select_generator(frame, schema, ["tvae", "autoregressive"], {}, budget, seed=0, epochs=5000)
    took = time.monotonic() - t0
    rows = {r["generator"]: r for r in board}
    assert {r["status"] for r in board} == {"scored"}, board
    assert PROBE_EPOCHS <= rows["tvae"]["epochs"] < 5000
    assert rows["autoregressive"]["epochs"] is None and name in rows
    assert took < budget + 30, took  # process start-up and scoring beside the slots
