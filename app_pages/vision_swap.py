"""Images → Encoder/decoder swap: encoder A, decoder B and a translator fitted on anchor images; originals,
B's own reconstructions and the swapped ones side by side; the error against the number of anchors and
the matrix of all pairs. Every analysis is a cached core call (genesis_core.vision.analysis.cached): the first
swap shows in seconds, the curve and the matrix run on demand with progress, and any of them opened again
(here or in the CLI) is instant."""

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from app_pages.common import show_error, workspace
from app_pages.vision_common import cached_autoencoder, grid_image, no_models_yet, pick_autoencoder
from genesis_core.errors import WorkbenchError
from genesis_core.vision.analysis import cached as analyses, stitching
from genesis_core.vision.analysis.catalog import list_autoencoders
from genesis_core.vision.data import class_spread

st.title("Encoder / decoder swap")
st.write("Encode with model A, translate the code, decode with model B. The score compares "
         "D_B(T(E_A(x))) with B's own reconstruction D_B(E_B(x)) on held-out test images.")

entries = list_autoencoders(workspace())
if not entries:
    no_models_yet()
    st.stop()
left, right = st.columns(2)
with left:
    picked_a = pick_autoencoder("Encoder from (A)", "swap_a", entries)
if picked_a is None:
    st.stop()
entry_a, model_a, task_a, ckpt_a = picked_a
compatible = [e for e in entries if e.image_shape == entry_a.image_shape]
with right:
    picked_b = pick_autoencoder("Decoder from (B)", "swap_b", compatible, index=1 if len(compatible) > 1 else 0)
if picked_b is None:
    st.stop()
entry_b, model_b, task_b, ckpt_b = picked_b
if entry_a.key == entry_b.key:
    st.info("A and B are the same model, so the swap is just its own reconstruction (a perfect score says nothing). "
            + ("Train a second model with the same image size to compare two." if len(compatible) < 2 else
               "Pick another model as B."))
    st.stop()
if entry_a.dataset != entry_b.dataset:
    st.warning(f"A was trained on {entry_a.dataset} and B on {entry_b.dataset}; images come from A's test set.")

split = task_a.split
c1, c2, c3 = st.columns(3)
choices = stitching.available_translators(entry_a.latent_dim, entry_b.latent_dim)
translator = c1.selectbox("Translator", choices, index=choices.index("affine"), key="swap_translator",
                          help="none: identity (equal sizes only) · lstsq: linear · procrustes: rotation of "
                               "standardised, zero-padded codes · affine: linear plus bias")
n_anchors = c2.slider("Anchor images (from A's train split)", 8, min(2000, len(split.train_x)),
                      min(500, len(split.train_x)), key="swap_anchors")
n_show = c3.slider("Images shown", 4, 16, 10, key="swap_show")
spread = torch.from_numpy(class_spread(split.test_y.numpy(), 500))  # every class, not the first one only
held_out, labels = split.test_x[spread], split.test_y[spread]
a, b = (entry_a.key, ckpt_a), (entry_b.key, ckpt_b)

try:
    with st.spinner("Fitting the translator…"):
        result = analyses.swap(model_a, model_b, a, b, split.train_x[:n_anchors], held_out, labels, translator)
except (ValueError, WorkbenchError) as exc:
    show_error(exc)
    st.stop()
m1, m2, m3 = st.columns(3)
m1.metric("Swap vs B's own reconstruction", f"{result['psnr_db']:.2f} dB", help=f"MSE {result['mse']:.5f}")
m2.metric("Swap vs original", f"{result['psnr_vs_original_db']:.2f} dB")
m3.metric("B's own vs original (reference)", f"{result['own_psnr_vs_original_db']:.2f} dB")
rows = [held_out[:n_show], result["own"][:n_show], result["swapped"][:n_show]]
st.image(grid_image(rows, 900), width="stretch",
         caption="Rows: originals · B's own reconstructions · A's encoder → translator → B's decoder")

view = st.segmented_control("More", ["Error against anchors", "All pairs", "Latent similarity"], key="swap_view")


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)
    return lambda fraction, message: bar.progress(min(1.0, fraction), text=f"{label}: {message}")


if view == "Error against anchors":
    df = pd.DataFrame(analyses.anchor_curve(model_a, model_b, a, b, split.train_x, held_out, labels,
                                            progress=progress_bar("Refitting with more and more anchors")))
    fig = px.line(df, x="anchors", y="psnr_db", color="translator", markers=True, log_x=True,
                  labels={"psnr_db": "PSNR vs B's own reconstruction (dB)", "anchors": "anchor images"})
    st.plotly_chart(fig, width="stretch", key="swap_curve")
elif view == "All pairs":
    pool = compatible[:8]
    st.caption(f"Every encoder (rows) with every decoder (columns) among {len(pool)} models with "
               f"{entry_a.image_shape} images, translator '{translator}', {n_anchors} anchors. "
               "Empty cells: the translator does not apply (none with different latent sizes).")
    checkpoints = {e.key: str(workspace().get_run(e.run_id).latest_checkpoint()) for e in pool}
    models = {e.key: cached_autoencoder(e.key, checkpoints[e.key])[0] for e in pool}
    matrix = analyses.swap_matrix(models, checkpoints, split.train_x[:n_anchors], held_out, labels, translator,
                                  progress=progress_bar(f"Fitting {len(models) ** 2} translators"))
    names = [f"{e.run_id[-4:]} z={e.latent_dim}{' ' + e.member if e.member else ''}" for e in pool]
    fig = px.imshow(np.round(matrix, 2), x=names, y=names, text_auto=True, color_continuous_scale="Viridis",
                    labels={"x": "decoder (B)", "y": "encoder (A)", "color": "PSNR (dB)"})
    st.plotly_chart(fig, width="stretch", key="swap_matrix_fig")
elif view == "Latent similarity":
    pool = compatible[:8]
    k = st.slider("Neighbours (mutual k-NN)", 2, 50, 10, key="swap_sim_k")
    checkpoints = {e.key: str(workspace().get_run(e.run_id).latest_checkpoint()) for e in pool}
    models = {e.key: cached_autoencoder(e.key, checkpoints[e.key])[0] for e in pool}
    with st.spinner(f"Encoding {len(held_out)} test images with {len(models)} models…"):
        sim = analyses.similarity_matrix(models, checkpoints, held_out, f"test:{entry_a.dataset}", k)
    names = [f"{e.run_id[-4:]} z={e.latent_dim}{' ' + e.member if e.member else ''}" for e in pool]
    off = ~np.eye(len(pool), dtype=bool)
    st.caption(f"{len(pool)} models on the same {sim['images']} test images of A's data. Linear CKA: 1 when one "
               "latent space is a rotation and scaling of the other; mutual k-NN: the share of each image's k "
               f"nearest neighbours both spaces agree on. Baselines: CKA with rows shuffled "
               f"{sim['cka_shuffled'][off].mean() if off.any() else 0:.3f}, random neighbours {sim['knn_chance']:.3f}.")
    c1, c2 = st.columns(2)
    for column, field, title in ((c1, "cka", "linear CKA"), (c2, "knn", f"mutual {k}-NN")):
        fig = px.imshow(np.round(sim[field], 3), x=names, y=names, text_auto=True, zmin=0, zmax=1,
                        color_continuous_scale="Viridis", labels={"color": title}, title=title)
        column.plotly_chart(fig, width="stretch", key=f"swap_sim_{field}")
else:
    st.caption("Choose a view: the swap error against the number of anchor images, the matrix of all pairs, or how "
               "alike the models' latent spaces are (each computed once, then kept).")
