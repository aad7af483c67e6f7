"""Images → Latent explorer: sliders over the latent, interpolation with export, projections of the test
set, and for conditional models class swap and the label probe."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_pages.common import show_error
from app_pages.vision_common import grid_image, no_models_yet, pick_autoencoder, to_image
from genesis_core.vision.analysis import cached as analyses
from genesis_core.vision.analysis import latent as L
from genesis_core.vision.analysis.catalog import against_pca

st.title("Latent explorer")
picked = pick_autoencoder("Model", "latent_model")
if picked is None:
    no_models_yet()
    st.stop()
entry, model, task, checkpoint = picked
split = task.split
classes = list(split.classes)
versus = against_pca(checkpoint, entry.member)
if versus is not None:
    line = (f"Test PSNR {versus['psnr_db']:.2f} dB; PCA with {entry.latent_dim} components: "
            f"{versus['pca_psnr_db']:.2f} dB.")
    if versus["pca_wins"]:
        st.warning(line + " PCA still reconstructs these test images better than this model: train longer, with "
                   "more images, or keep the linear (PCA) path on.")
    else:
        st.caption(line)


with st.spinner("Encoding the test set…"):
    z_test = analyses.encodings(model, entry.key, checkpoint, split.test_x)  # cached in the workspace
labels = split.test_y
n_test = len(z_test)


def class_input(label: str, key: str, default: int = 0):
    if not entry.conditional:
        return None
    return st.selectbox(label, range(len(classes)), index=default, format_func=lambda c: classes[c], key=key)


VIEWS = ["Sliders", "Interpolation", "Projection", "Classes: swap and probe"]
view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="latent_view") or VIEWS[0]  # only the open one runs

# -- sliders -------------------------------------------------------------------------------------
if view == "Sliders":
    axes = L.latent_axes(z_test, max_sliders=16)
    if axes.explained:
        st.caption(f"The latent has {model.latent_dim} dimensions: sliders move along its first {len(axes.names)} "
                   f"principal axes ({sum(axes.explained):.0%} of the test set's latent variance). Units: standard "
                   "deviations of the test set along each axis.")
    else:
        st.caption("One slider per latent dimension, in standard deviations of the test set's codes.")
    top = st.columns([2, 2, 1])
    start = top[0].number_input("Start from test image", 0, n_test - 1, 0, key="slider_start")
    y_slider = None
    with top[1]:
        y_slider = class_input("Decode as class", "slider_class", int(labels[start]))
    if top[2].button("Reset sliders", key="slider_reset") or st.session_state.get("slider_origin") != (entry.key, start):
        coeffs = axes.coefficients(z_test[start:start + 1])[0].clamp(-3, 3).tolist()
        for i, value in enumerate(coeffs):
            st.session_state[f"axis_{i}"] = round(float(value), 2)
        st.session_state["slider_origin"] = (entry.key, start)
    left, right = st.columns([3, 2])
    with left:
        cols = st.columns(2)
        values = [cols[i % 2].slider(name, -3.0, 3.0, step=0.05, key=f"axis_{i}") for i, name in enumerate(axes.names)]
    with right:
        z = axes.point(values)[None]
        image = L.decode_latents(model, z, y_slider)
        st.image(to_image(image[0], 280), caption="Decoded from the sliders", width=280)
        st.image(to_image(split.test_x[start], 140), caption=f"Test image {start} (class {classes[labels[start]]})",
                 width=140)

# -- interpolation -------------------------------------------------------------------------------
if view == "Interpolation":
    mode = st.radio("Between", ["two test images", "two class means"], horizontal=True, key="interp_mode")
    c1, c2 = st.columns(2)
    if mode == "two test images":
        i0 = c1.number_input("From test image", 0, n_test - 1, 0, key="interp_a")
        other = next((i for i in range(n_test) if int(labels[i]) != int(labels[0])), min(1, n_test - 1))
        i1 = c2.number_input("To test image", 0, n_test - 1, other, key="interp_b")  # another class by default
        z0, z1 = z_test[i0], z_test[i1]
        ya, yb = int(labels[i0]), int(labels[i1])
    else:
        means = L.class_means(z_test, labels)
        ca = c1.selectbox("From class", sorted(means), format_func=lambda c: classes[c], key="interp_ca")
        cb = c2.selectbox("To class", sorted(means), index=min(1, len(means) - 1), format_func=lambda c: classes[c],
                          key="interp_cb")
        z0, z1, ya, yb = means[ca], means[cb], ca, cb
    c1, c2, c3 = st.columns(3)
    method = c1.radio("Method", L.METHODS, key="interp_method",
                      format_func={"lerp": "lerp", "slerp": "slerp", "direction_slerp": "direction slerp + lerp norm"}.get)
    steps = c2.slider("Frames", 3, 48, 12, key="interp_steps")
    fps = c3.slider("Frames per second (GIF/MP4)", 2, 30, 12, key="interp_fps")
    y_path = L.class_path(ya, yb, steps) if entry.conditional else None  # the class moves with the path
    frames = {m: L.decode_latents(model, L.interpolate(z0, z1, steps, m), y_path) for m in L.METHODS}
    st.image(grid_image([frames[method]], 900), caption=f"{method}, {steps} frames", width="stretch")
    table = pd.DataFrame([{"method": m, **L.path_smoothness(f)} for m, f in frames.items()])
    st.caption("Smoothness of each path: mean and largest change between consecutive frames (mean absolute "
               "pixel difference, pixel range 0–1); max/mean = 1 means the path moves evenly.")
    st.dataframe(table, hide_index=True, column_config={
        "mean_step": st.column_config.NumberColumn("mean step", format="%.4f"),
        "max_step": st.column_config.NumberColumn("max step", format="%.4f"),
        "max_over_mean": st.column_config.NumberColumn("max / mean", format="%.2f")})
    d1, d2, d3 = st.columns(3)
    d1.download_button("PNG strip", L.strip_png(frames[method]), "interpolation.png", "image/png", key="dl_png")
    d2.download_button("Animated GIF", L.animation_gif(frames[method], fps), "interpolation.gif", "image/gif",
                       key="dl_gif")
    try:
        mp4 = L.animation_mp4(frames[method], fps)
    except Exception as exc:  # an FFmpeg without libx264: say so, keep the other exports
        d3.caption(f"MP4 export unavailable: {str(exc).splitlines()[0]}")
    else:
        d3.download_button("MP4 (H.264)", mp4, "interpolation.mp4", "video/mp4", key="dl_mp4")
        st.video(mp4, loop=True, autoplay=True, muted=True, width=360)

# -- projection ----------------------------------------------------------------------------------
if view == "Projection":
    c1, c2 = st.columns([1, 2])
    method_p = c1.selectbox("Projection", L.PROJECTIONS, key="proj_method",
                            format_func={"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}.get)
    n_points = c2.slider("Test points", 100, min(2000, n_test), min(1000, n_test), step=100, key="proj_points") \
        if n_test > 100 else n_test

    try:
        with st.spinner("Projecting the latents…"):
            p = analyses.projection(z_test[:n_points], entry.key, checkpoint, method_p)  # cached in the workspace
    except (ValueError, ImportError) as exc:
        show_error(exc)
        st.stop()
    coords, trust, can_place = p["coords"], p["trustworthiness"], p["can_place_new_points"]
    m1, m2 = st.columns(2)
    m1.metric("Trustworthiness (k = 10)", f"{trust:.3f}", help="1.0: every 2-D neighbourhood is a neighbourhood "
              "in the latent space (sklearn.manifold.trustworthiness).")
    m2.metric("Places new points", "yes" if can_place else "no")
    if not can_place:
        st.caption("t-SNE embeds only the points it was fitted on; it cannot place new points on this map.")
    thumbs = st.toggle("Thumbnails on the map", key="proj_thumbs", help="Draw 80 test images at their positions.")
    fig = go.Figure()
    for c in range(len(classes)):
        idx = np.flatnonzero(labels[:n_points].numpy() == c)
        if len(idx):
            fig.add_trace(go.Scattergl(x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=classes[c],
                                       customdata=idx, marker={"size": 6, "opacity": 0.8},
                                       hovertemplate=f"class {classes[c]} · test image %{{customdata}}<extra></extra>"))
    if thumbs:
        import base64

        span = float(np.ptp(coords[:, 0]) + np.ptp(coords[:, 1])) / 2
        for i in np.linspace(0, n_points - 1, 80).astype(int):
            uri = "data:image/png;base64," + base64.b64encode(to_image(split.test_x[i], 28)).decode()
            fig.add_layout_image(source=uri, x=float(coords[i, 0]), y=float(coords[i, 1]), xref="x", yref="y",
                                 sizex=span / 18, sizey=span / 18, xanchor="center", yanchor="middle", layer="above")
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title_text="class",
                      xaxis_title=f"{method_p} 1", yaxis_title=f"{method_p} 2")
    event = st.plotly_chart(fig, key="proj_chart", on_select="rerun", selection_mode="points", width="stretch")
    points = (event.selection.points if event and event.selection else []) or []
    if points:
        i = int(points[0]["customdata"]) if "customdata" in points[0] else int(points[0]["point_index"])
        y_i = labels[i:i + 1] if entry.conditional else None
        st.image(grid_image([split.test_x[i:i + 1], L.decode_latents(model, z_test[i:i + 1], y_i)], 240),
                 caption=f"Clicked test image {i} (class {classes[labels[i]]}) and its decoding", width=240)
    else:
        st.caption("Click a point to decode it.")

# -- conditional ---------------------------------------------------------------------------------
if view == "Classes: swap and probe":
    from genesis_core.vision.analysis.conditional import class_swap, probe_model

    if entry.conditional:
        count = st.slider("Images", 2, 12, 8, key="swap_count")
        grid = class_swap(model, split.test_x[:count], len(classes))
        st.image(grid_image([split.test_x[:count], *grid], 700), width="stretch",
                 caption="Top row: test images. Row c: each image's z decoded as class " + ", ".join(classes))
    else:
        st.caption("This model is not class-conditional; class swap needs one trained with a conditioning strategy.")

    @st.cache_data(show_spinner="Fitting the label probe…", max_entries=16)
    def probe(key: str, checkpoint: str) -> dict:
        return probe_model(model, split)

    result = probe(entry.key, checkpoint)
    p1, p2 = st.columns(2)
    p1.metric("Label probe accuracy (test)", f"{result['probe_accuracy']:.1%}",
              help="A logistic regression on standardised z predicting the class.")
    p2.metric("Majority-class rate (baseline)", f"{result['majority_rate']:.1%}")
    st.caption("How much of the label stays in z. A conditional decoder is told the class, so its encoder may "
               "drop it: a probe near the baseline means z holds style, not identity.")
