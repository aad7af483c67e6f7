"""`auto` holds every candidate to its slot of the budget, so all of them finish and are scored: the pacing
arithmetic as properties over generated paces and budgets, the autoregressive model's time limit, and a real
selection (candidates in their own processes) where TVAE asked for far more epochs than its slot holds."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.pipeline import schema_for
from genesis_core.registry import GENERATORS
from genesis_core.tabular.data.schema import schema_to_dicts
from genesis_core.tabular.single_table.auto import (COPY_SLACK, PROBE_EPOCHS, _score_candidate, _split,
                                                    auc_standard_error, choose, copy_guard,
                                                    final_epochs, paced_epochs, select_generator, slot_seconds)
from genesis_core.tabular.single_table.base import TabularGenerator, make_generator

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


@settings(max_examples=300, deadline=None)
@given(share=st.floats(0.0, 1.0), other=st.floats(0.0, 1.0), held_out=st.floats(0.0, 0.85))
def test_the_copy_guard_spares_rows_as_close_as_unseen_ones_and_zeroes_copies(share, other, held_out):
    g = copy_guard(share, held_out)
    assert 0.0 <= g <= 1.0
    assert (g == 1.0) == (share <= held_out + COPY_SLACK)
    assert copy_guard(1.0, held_out) == 0.0
    lo, hi = sorted((share, other))
    assert copy_guard(lo, held_out) >= copy_guard(hi, held_out)  # closer to the training rows never scores higher


class _CopyTrainingRows(TabularGenerator):
    """A 'generator' that returns its training rows: every classifier is fooled, and auto must not fall for it."""

    name = "copy_training_rows_for_a_test"

    def _fit(self, frame, progress):
        self.rows = frame.reset_index(drop=True)

    def _sample(self, rows, conditions, seed):
        return self.rows.sample(rows, replace=True, random_state=seed).reset_index(drop=True)

    def _save(self, folder):
        return {}

    def _load(self, folder, meta):
        pass


def test_auto_scores_by_rows_it_never_saw_and_a_copier_loses_to_a_copula():
    """The held-out detection separates a copula from a table's joint on 275 rows (a test over the 55 held-out
    rows alone put both near 0.5), and copies of the training rows, which pass any classifier, score near 0."""
    frame = load_demo("penguins")
    schema = schema_for(frame)
    rows, fit_rows = schema_to_dicts(schema), _split(frame, 0, "auto")
    GENERATORS.register(_CopyTrainingRows.name)(_CopyTrainingRows)
    try:
        copier = _score_candidate(_CopyTrainingRows.name, {}, frame, rows, fit_rows, 0, 1)
    finally:
        GENERATORS._items.pop(_CopyTrainingRows.name)
    copula = _score_candidate("gaussian_copula", {}, frame, rows, fit_rows, 0, 1)
    assert copier["detection_auc"] < 0.65 and copier["copy_guard"] < 0.2, copier  # passes a classifier, copies
    assert copula["copy_guard"] == 1.0 and copula["detection_auc"] > 0.8, copula  # told apart: a copula's rows
    assert copier["score"] < copula["score"]


@settings(max_examples=40, deadline=None, derandomize=True)  # the same 40 tables every run: a 3-sigma bound
@given(seed=st.integers(0, 10_000), dims=st.integers(1, 6), repeats=st.floats(0.0, 0.6))
def test_rows_from_the_real_distribution_sit_as_close_as_unseen_rows_and_copies_sit_closer(seed, dims, repeats):
    """On generated tables (some with rows that repeat exactly, as real tables of few distinct values do): fresh
    draws from the table's distribution are no more often unusually close to a training row than held-out rows
    are (within the guard's slack: the score is not cut), and copies of training rows always are (it is, by
    more than half)."""
    import numpy as np

    from genesis_core.tabular.evaluation.privacy import closer_than_unseen

    rng = np.random.default_rng(seed)
    pool = rng.normal(size=(40, dims)).round(1)  # a finite pool: a share `repeats` of rows comes from it

    def draw(n):
        rows = rng.normal(size=(n, dims))
        common = rng.random(n) < repeats
        rows[common] = pool[rng.integers(0, len(pool), common.sum())]
        return rows

    train, held, fresh = draw(400), draw(300), draw(300)
    close = closer_than_unseen(train, held, fresh)
    assert copy_guard(close["synthetic"], close["held_out"], max(COPY_SLACK, close["noise"])) == 1.0, close
    copies = closer_than_unseen(train, held, train[rng.integers(0, len(train), 300)])
    assert copies["synthetic"] == 1.0
    assert copy_guard(copies["synthetic"], copies["held_out"], max(COPY_SLACK, copies["noise"])) < 0.5, copies


boards = st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 0.2)), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(board=boards, order=st.randoms())
def test_auto_takes_the_best_score_or_a_preferred_candidate_within_its_noise(board, order):
    rows = [{"generator": f"g{i}", "score": s, "score_se": se} for i, (s, se) in enumerate(board)]
    preference = [r["generator"] for r in rows]
    order.shuffle(preference)
    name, why = choose(rows, preference)
    best = max(rows, key=lambda r: r["score"])
    mine = next(r for r in rows if r["generator"] == name)
    if name != best["generator"]:  # a tie: never further behind than the two scores' noise, and preferred
        assert best["score"] - mine["score"] <= (mine["score_se"] ** 2 + best["score_se"] ** 2) ** 0.5 + 1e-12
        assert preference.index(name) < preference.index(best["generator"]) and "standard error" in why
    else:
        assert mine["score"] == best["score"]
    if all(r["score_se"] == 0 for r in rows):  # no noise: the best score, always
        assert mine["score"] == best["score"]
    earlier = preference[:preference.index(name)]  # no candidate preferred over it was within noise
    for r in rows:
        if r["generator"] in earlier and r["score"] != best["score"]:
            assert best["score"] - r["score"] > (r["score_se"] ** 2 + best["score_se"] ** 2) ** 0.5 - 1e-12


def test_the_auc_standard_error_shrinks_with_rows_and_matches_hanley_mcneil():
    assert abs(auc_standard_error(0.85, 55, 200) - 0.0339) < 0.001  # worked by hand from the 1982 formula
    assert auc_standard_error(0.85, 550, 2000) < auc_standard_error(0.85, 55, 200) / 3
    assert auc_standard_error(1.0, 55, 200) < 1e-3
