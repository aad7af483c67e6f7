"""Language models → Loss dynamics: live curves of one or more runs (raw loss, EMA, min/max envelope,
slope, LR, mask rate) with their events, bits per byte per language against the unigram baseline, a
hyperparameter comparison, what the model writes, and start / stop / resume."""

import pandas as pd
import streamlit as st

from app_pages.common import estimate_text, key_help, running_job_for, show_error, submit, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.formatting import format_eta
from genesis_core.jobs import api
from genesis_core.lm import dynamics, figures
from genesis_core.lm import defaults as recipe

st.title("Language models — loss dynamics")

SIZES = {  # name -> model section
    "tiny (2 layers, 128 wide, context 128)": {"n_layer": 2, "d_model": 128, "n_head": 4, "n_kv_head": 2, "context": 128},
    "small (4 layers, 256 wide, context 256)": {"n_layer": 4, "d_model": 256, "n_head": 8, "n_kv_head": 4, "context": 256},
    "nanoGPT-small (6 layers, 384 wide, context 256)": {"n_layer": 6, "d_model": 384, "n_head": 6, "n_kv_head": 2,
                                                        "context": 256},
}
LANGS = ["en", "de", "es", "it", "pl", "cs", "ru", "zh"]

runs_all = workspace().list_runs(task="language_model")
with st.expander("Start a run", expanded=not runs_all):
    c1, c2, c3 = st.columns(3)
    objective = c1.radio("Objective", ["causal", "masked"], horizontal=True, key="lm_objective",
                         help=key_help("language_model", "objective"))
    size = c2.selectbox("Size", list(SIZES), key="lm_size")
    steps = c3.number_input("Steps", 10, 1_000_000, 2000, step=500, key="lm_steps",
                            help=key_help("language_model", "trainer.steps"))
    languages = st.multiselect("Languages (built-in fortunes corpus)", LANGS, LANGS, key="lm_languages")
    weights = []
    if languages and st.toggle("Sampling weights per language (locale targeting)", key="lm_weights_on"):
        cols = st.columns(len(languages))
        weights = [cols[i].number_input(lang, 0.0, 100.0, 1.0, key=f"lm_w_{lang}") for i, lang in enumerate(languages)]
    c1, c2, c3, c4 = st.columns(4)
    lr = c1.number_input("Peak LR", 1e-5, 1.0, recipe.LR, format="%.4f", key="lm_lr",
                         help="AdamW's rate (with Muon: for the embeddings, norms and head)")
    stun = c2.toggle("LR stun on plateaus", True, key="lm_stun")
    patience = c3.number_input("Stun patience (steps)", 1, 100_000, 300, key="lm_patience", disabled=not stun)
    auto_resume = c4.number_input("Auto-resume after a crash (times)", 0, 100, 2, key="lm_auto_resume",
                                  help=key_help("language_model", "trainer.auto_resume"))
    c1, c2, c3, c4 = st.columns(4)
    optimizer = c1.radio("Optimizer", ["muon", "adamw"], horizontal=True, key="lm_optimizer",
                         index=["muon", "adamw"].index(recipe.OPTIMIZER),
                         help=f"muon: Muon on the hidden weight matrices (rate {recipe.MUON_LR:g}), AdamW on "
                              "embeddings, norms and the head; ahead of tuned AdamW in bench/lm_muon.py")
    compile_model = c2.toggle("torch.compile", False, key="lm_compile",
                              help="compiled when this machine can; otherwise it says why once and trains eager")
    spike_action = c3.selectbox("On a loss spike", ["log", "skip", "rollback"], key="lm_spike_action",
                                help="log: an event only · skip: the spiking batch's update is not applied · "
                                     "rollback: weights and optimizer go back to the latest checkpoint")
    webhook = c4.text_input("Webhook for events (optional)", key="lm_webhook", placeholder="https://…",
                            help="spikes, plateaus and stuns are POSTed here as JSON, at most one POST per 10 s")
    pair_weights = {}
    if st.toggle("Auxiliary pair tasks", key="lm_pairs_on",
                 help="coherence: does B follow A? · reference: is the span cut from the window? · paraphrase: is B "
                      "a meaning-keeping rewrite of A? Each a yes/no head on the same network, with its loss weight"):
        cols = st.columns(3)
        pair_weights = {t: cols[i].number_input(f"{t} weight", 0.0, 10.0, 0.1, key=f"lm_pair_{t}")
                        for i, t in enumerate(("coherence", "reference", "paraphrase"))}
    name = st.text_input("Run name", key="lm_name", placeholder=f"{objective} {size.split(' (')[0]}")
    if st.button("Start", type="primary", key="lm_submit", disabled=not languages):
        submit({"task": "language_model", "name": name or f"{objective} LM {size.split(' (')[0]}",
                "objective": objective, "model": SIZES[size],
                "data": {"languages": languages, "weights": weights, "pair_tasks": pair_weights},
                "stun": {"enabled": stun, "patience": int(patience)}, "optimizer": optimizer,
                "analytics": {"spike_action": spike_action, "webhook": webhook.strip()},
                "trainer": {"steps": int(steps), "lr": float(lr), "auto_resume": int(auto_resume),
                            "compile": compile_model}})
        runs_all = workspace().list_runs(task="language_model")

if not runs_all:
    st.info(f"No language-model run yet: start one above ({int(steps)} steps: "
            f"{estimate_text('language_model', int(steps))}). Its bits per byte are drawn beside the unigram "
            "baseline from the first evaluation on.")
    st.stop()

by_id = {r.id: r for r in runs_all}
default = [r for r in [st.query_params.get("run")] if r in by_id] or [runs_all[0].id]
chosen = st.multiselect("Runs", list(by_id), default, format_func=lambda i: f"{by_id[i].name or i} · {i}",
                        key="lm_runs")
if not chosen:
    st.stop()
runs = [by_id[i] for i in chosen]
c1, c2 = st.columns([2, 3])
axis = c1.radio("x-axis", list(dynamics.X_AXES), horizontal=True, key="lm_axis")

def job_controls() -> None:
    """Each run's newest job with its state and a stop or resume button (refreshed with the curves)."""
    jobs = {j.run_id: j for j in reversed(api.list_jobs(workspace(), limit=500))}  # newest job per run
    for run in runs:
        job = jobs.get(run.id)
        if job is None:
            continue
        cols = st.columns([4, 1])
        state = "cancelling…" if job.status == "running" and job.cancel_requested else job.status
        cols[0].caption(f"**{run.name or run.id}** — job {job.id}: {state}, step {job.step}/{job.total}"
                        + (f", ETA {format_eta(job.eta_s)}" if job.status == "running" and not job.cancel_requested
                           else "")
                        + (f" · {job.error.splitlines()[0]}" if job.error and job.status == "failed" else ""))
        try:
            if job.status in ("running", "queued") and not job.cancel_requested and cols[1].button(
                    "Stop", key=f"lm_stop_{job.id}"):
                api.cancel(job.id, workspace())
                st.rerun()
            if job.status in ("failed", "cancelled") and cols[1].button("Resume", key=f"lm_resume_{job.id}"):
                api.resume(job.id, workspace())
                st.rerun()
        except WorkbenchError as exc:
            show_error(exc)


def phase_anchored() -> None:
    """Each run's loss change since its last intervention (stun, resume, skipped or rolled-back spike), and
    the phases the interventions cut it into."""
    st.markdown("**Improvement since the last intervention** (EMA of the loss, nats per byte; negative is better)")
    for run in runs:
        phases = dynamics.phase_improvement(run)
        if phases.empty:
            st.caption(f"{run.name or run.id}: no loss logged yet.")
            continue
        now = phases.iloc[-1]
        anchor = "the start" if now["opened_by"] == "start" else f"the {now['opened_by']} at step {now['start_step']}"
        st.metric(f"{run.name or run.id}: since {anchor}", f"{now['change']:+.4f}",
                  f"{now['change_per_1k']:+.4f} per 1k steps", delta_color="inverse")
        if len(phases) > 1:
            st.dataframe(phases, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(format="%.4f") for c in
                                        ("ema_start", "ema_end", "change", "change_per_1k", "best_loss")})


@st.fragment(run_every=3 if any(running_job_for(r.id) for r in runs) else None)
def curves() -> None:
    job_controls()
    left, right = st.columns([3, 2])
    fig, side = figures.curves_figure(runs, axis)
    with left:
        st.plotly_chart(fig, width="stretch", key="lm_curves")
        st.plotly_chart(side, width="stretch", key="lm_side")
    with right:
        bar = figures.bpb_figure(runs)
        if bar is not None:
            st.plotly_chart(bar, width="stretch", key="lm_bpb")
        else:
            st.caption("Bits per byte appear after the first evaluation.")
        pairs = [dynamics.pair_scores(r).assign(run=r.name or r.id) for r in runs]
        pairs = [p for p in pairs if not p.empty]
        if pairs:
            st.markdown("**Auxiliary pair tasks** on held-out pairs (chance 0.5)")
            st.dataframe(pd.concat(pairs)[["run", "task", "accuracy", "auc", "chance"]], hide_index=True,
                         width="stretch")
        samples = runs[0].artifact_path("preview_samples.txt")
        st.markdown(f"**What {runs[0].name or runs[0].id} writes** (latest preview; ⟦…⟧ is generated)")
        if samples.exists():
            st.code(samples.read_text(encoding="utf-8", errors="replace")[:3000], language=None, wrap_lines=True)
        else:
            st.caption("Samples appear at the first preview.")
    phase_anchored()
    events = [dynamics.run_events(r).assign(run=r.name or r.id) for r in runs]
    events = [e for e in events if not e.empty]
    if events:
        st.markdown("**Events**")
        st.dataframe(pd.concat(events)[["run", "step", "kind", "message"]], hide_index=True, width="stretch")


curves()


def submorphemic(run) -> None:
    """Bits per suffix on novel stem + suffix pseudo-words against controls and a byte trigram (cached by
    checkpoint: computed once, then instant)."""
    st.markdown(f"**Sub-morphemic evaluation** of {run.name or run.id}: does it expect a language's suffixes on "
                "stems it never saw them on? (`genesis lm morphemes RUN`)")
    if run.config().get("objective", "causal") != "causal":
        st.caption("Needs a causal model; this run is a masked LM.")
        return
    if run.latest_checkpoint() is None:
        st.caption("Appears after the first checkpoint.")
        return
    c1, c2 = st.columns([1, 4])
    stems = c1.number_input("Stems per language", 5, 200, 40, key="lm_morph_stems")
    if not c2.button("Evaluate", key="lm_morph_go") and not st.session_state.get(f"lm_morph_{run.id}_{stems}"):
        return
    st.session_state[f"lm_morph_{run.id}_{stems}"] = True
    from genesis_core.lm.morphemes import morpheme_eval, summary

    try:
        with st.spinner("Scoring pseudo-words…"):
            table, step = morpheme_eval(run.id, workspace(), n_stems=int(stems))
    except (WorkbenchError, ValueError) as exc:
        show_error(exc)
        return
    if table.empty:
        st.caption("None of this run's languages has a suffix list (en, de, es, it, pl, cs, ru, zh).")
        return
    per_language = summary(table)
    st.plotly_chart(figures.morpheme_figure(per_language), width="stretch", key="lm_morph_chart")
    st.caption(f"Checkpoint of step {step}. gain = control bits − suffix bits, per pseudo-word; "
               "model_prefers_suffix = share of pseudo-words whose real suffix costs fewer bits than its control.")
    st.dataframe(per_language, hide_index=True, width="stretch")
    with st.expander("Per suffix"):
        st.dataframe(table, hide_index=True, width="stretch")


submorphemic(runs[0])
if len(runs) > 1:
    st.markdown("**Hyperparameters** (keys that differ between the runs, and a few always shown)")
st.dataframe(dynamics.hyperparameter_table(runs), hide_index=True, width="stretch")
