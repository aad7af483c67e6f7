"""Images → Restoration: corrupt a test image at a chosen level and restore it; corrupted / restored /
classical filter / clean side by side; PSNR against level with both baselines; the level-mismatch matrix."""

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from app_pages.common import estimate_text, show_error, submit, workspace
from app_pages.vision_common import dataset_form, grid_image
from genesis_core.training.loading import load_model
from genesis_core.vision.corruptions import ALL_CORRUPTIONS, CLASSICAL_FILTERS, CORRUPTIONS, classical_restore, corrupt
from genesis_core.vision.images import image_metrics
from genesis_core.vision.tasks.restoration import EVAL_LEVELS, apply_scores, cycle_matrix, level_mismatch, psnr_vs_level

st.title("Restoration")
st.write("One network learns to undo noise, blur, masking and pixelation at any level in [0, 1]; it is told "
         "the corruption and its level. Baselines: the corrupted image itself and a classical filter.")

with st.expander("Train a restorer", expanded=not workspace().list_runs(task="image_restoration")):
    data = dataset_form("restore")
    c1, c2, c3 = st.columns(3)
    kinds = c1.multiselect("Corruptions", ALL_CORRUPTIONS, list(CORRUPTIONS), key="restore_kinds",
                           help="the artistic ones (posterise, halftone, kuwahara, swirl) are deterministic: a "
                                "network can learn to apply them as well as to reverse them")
    direction = c2.radio("Direction", ["reverse", "apply", "both"], horizontal=True, key="restore_direction",
                         help="reverse: undo the corruption · apply: make it (scored against the exact procedure) "
                              "· both: one network, told which")
    steps = c3.number_input("Steps", 10, 100_000, 800, step=100, key="restore_steps")
    if st.button("Train", type="primary", key="restore_submit", disabled=data is None or not kinds):
        submit({"task": "image_restoration", "name": f"{direction} {data['dataset']} ({', '.join(kinds)})",
                "corruptions": kinds, "data": data, "direction": direction,
                "trainer": {"steps": int(steps), "eval_every": max(1, int(steps) // 2),
                            "checkpoint_every": max(1, int(steps) // 4)}})

runs = [r for r in workspace().list_runs(task="image_restoration") if r.latest_checkpoint() is not None]
if not runs:
    st.info(f"No trained restorer yet: train one above ({int(steps)} steps: "
            f"{estimate_text('image_restoration', int(steps))}).")
    st.stop()
run = st.selectbox("Restorer", runs, format_func=lambda r: f"{r.name or r.id} · {r.id}", key="restore_run")
checkpoint = str(run.latest_checkpoint())


@st.cache_resource(max_entries=4, show_spinner="Loading the restorer…")
def restorer(path: str):
    return load_model(path)


try:
    loaded = restorer(checkpoint)
except Exception as exc:
    show_error(exc)
    st.stop()
model, split = loaded.model, loaded.task.split
trained_kinds = list(loaded.config.corruptions)

c1, c2, c3 = st.columns(3)
kind = c1.selectbox("Corruption", trained_kinds, key="restore_kind")
level = c2.slider("Level", 0.0, 1.0, 0.5, step=0.05, key="restore_level")
index = c3.number_input("Test image", 0, len(split.test_x) - 8, 0, key="restore_index")
x = split.test_x[index:index + 8]
bad = corrupt(x, kind, level, torch.Generator().manual_seed(int(index)))
if "reverse" in model.directions:
    restored, classical = model.restore(bad, kind, level), classical_restore(bad, kind, level)
    st.image(grid_image([bad, restored, classical, x], 720), width=720,
             caption=f"Rows: corrupted · restored · classical filter ({CLASSICAL_FILTERS[kind]}) · clean")
    cols = st.columns(3)
    for col, (label, images) in zip(cols, [("Corrupted (identity)", bad), ("Restored", restored),
                                           ("Classical filter", classical)]):
        m = image_metrics(images, x)
        col.metric(f"{label} PSNR", f"{m['psnr_db']:.2f} dB", help=f"SSIM {m['ssim']:.3f} on these 8 images")


    @st.cache_data(show_spinner="Scoring every level…", max_entries=16)
    def curve(path: str, kind: str) -> pd.DataFrame:
        return pd.DataFrame(psnr_vs_level(model, split.test_x[:300], kind))


    @st.cache_data(show_spinner="Telling the restorer the wrong level…", max_entries=16)
    def mismatch(path: str, kind: str) -> np.ndarray:
        return level_mismatch(model, split.test_x[:300], kind)


    left, right = st.columns([3, 2])
    with left:
        df = curve(checkpoint, kind)
        fig = go.Figure()
        for column, name, dash in [("restored_psnr_db", "restored", None), ("identity_psnr_db", "corrupted (identity)",
                                                                            "dot"),
                                   ("classical_psnr_db", f"classical ({CLASSICAL_FILTERS[kind]})", "dash")]:
            fig.add_trace(go.Scatter(x=df["level"], y=df[column], name=name, mode="lines+markers", line={"dash": dash}))
        fig.add_vline(x=level, line={"color": "grey", "dash": "dot"})
        fig.update_layout(title=f"PSNR against level: {kind} (300 test images)", xaxis_title="level",
                          yaxis_title="PSNR (dB)", height=400, margin={"l": 10, "r": 10, "t": 40, "b": 10})
        st.plotly_chart(fig, width="stretch", key="restore_curve")
    with right:
        matrix = mismatch(checkpoint, kind)
        labels = [f"{lv:g}" for lv in EVAL_LEVELS]
        fig = px.imshow(np.round(matrix, 1), x=labels, y=labels, text_auto=True, color_continuous_scale="Viridis",
                        labels={"x": "true level", "y": "level told", "color": "PSNR (dB)"},
                        title="Level mismatch (PSNR, dB)")
        fig.update_layout(height=400, margin={"l": 10, "r": 10, "t": 40, "b": 10})
        st.plotly_chart(fig, width="stretch", key="restore_matrix")

if "apply" in model.directions:
    st.subheader("Applying the corruption")
    made, exact = model.corrupt(x, kind, level), corrupt(x, kind, level, torch.Generator().manual_seed(int(index)))
    st.image(grid_image([x, made, exact], 720), width=720,
             caption="Rows: clean · the network's corruption · the exact procedure")
    scores = apply_scores(model, split.test_x[:300], kind, level)
    a1, a2 = st.columns(2)
    a1.metric("Network vs the exact procedure", f"{scores['applied_psnr_db']:.2f} dB",
              help=f"PSNR on 300 test images at level {level:g}; SSIM {scores['applied_ssim']:.3f}")
    a2.metric("Untouched image vs the exact procedure (baseline)", f"{scores['identity_psnr_db']:.2f} dB")


@st.cache_data(show_spinner="Applying and reversing every pair…", max_entries=16)
def cycle(path: str, level: float) -> np.ndarray:
    return cycle_matrix(model, split.test_x[:300], level)


if set(model.directions) == {"apply", "reverse"}:
    matrix = cycle(checkpoint, float(level))
    fig = px.imshow(np.round(matrix, 1), x=list(model.kinds), y=list(model.kinds), text_auto=True,
                    color_continuous_scale="Viridis", title=f"Apply → reverse cycle at level {level:g} (PSNR vs clean, dB)",
                    labels={"x": "reversed as", "y": "applied", "color": "PSNR (dB)"})
    st.plotly_chart(fig, width="stretch", key="restore_cycle")
    st.caption("Each test image corrupted by the network (rows), then restored by it as if corrupted by the column's "
               "kind: the diagonal is a corruption made and undone; off it, the wrong one undone.")
