"""Images → Bottleneck: MSE / PSNR / SSIM against latent size with the PCA curve, and the smallest latent
that reaches a PSNR the user picks. The sweep itself is one background job."""

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app_pages.common import running_job_for, show_error, submit, workspace
from app_pages.vision_common import dataset_form
from genesis_core.vision.analysis.catalog import bottleneck_table, minimum_latent

st.title("Bottleneck: how small can the latent be?")

with st.expander("Start a sweep", expanded=not workspace().list_runs(task="bottleneck_sweep")):
    data = dataset_form("sweep")
    c1, c2, c3 = st.columns(3)
    sizes = c1.multiselect("Latent sizes", [1, 2, 4, 8, 16, 32, 64, 128], [2, 4, 8, 16, 32, 64], key="sweep_sizes")
    arch = c2.selectbox("Architecture", ["conv", "mlp"], key="sweep_arch")
    steps = c3.number_input("Steps", 10, 100_000, 1500, step=100, key="sweep_steps")
    if st.button("Start the sweep", type="primary", key="sweep_submit", disabled=data is None or not sizes):
        submit({"task": "bottleneck_sweep", "name": f"bottleneck {data['dataset']} {arch}",
                "latent_sizes": sorted(sizes), "data": data, "model": {"arch": arch},
                "trainer": {"steps": int(steps), "eval_every": max(1, int(steps) // 3),
                            "checkpoint_every": max(1, int(steps) // 6)}})

runs = workspace().list_runs(task="bottleneck_sweep")
if not runs:
    st.info("No sweep yet: start one above. Each latent size gets its own autoencoder, trained side by side "
            "on the same batches; PCA with the same number of components on the same split is the baseline.")
    st.stop()
requested = st.query_params.get("run")
ids = [r.id for r in runs]
run = st.selectbox("Sweep", runs, index=ids.index(requested) if requested in ids else 0,
                   format_func=lambda r: f"{r.name or r.id} · {r.id}", key="sweep_run")


@st.fragment(run_every=3 if running_job_for(run.id) else None)
def results() -> None:
    job = running_job_for(run.id)
    if job is not None:
        st.progress(job.progress, text=f"Sweep {job.status}: step {job.step}/{job.total}; the table below is "
                    "its latest evaluation and updates as it runs.")
    try:
        table = bottleneck_table(run)
    except Exception as exc:
        show_error(exc)
        return
    target = st.number_input("Target PSNR (dB)", 5.0, 60.0, 18.0, step=0.5, key="sweep_target")
    answer = minimum_latent(table, target)
    pca_answer = minimum_latent(table, target, "pca_psnr_db")
    fmt = lambda k: f"{k} dimensions" if k is not None else "none of the sizes tried"  # noqa: E731
    st.success(f"Smallest latent reaching {target:.1f} dB on the test set: **{fmt(answer)}** "
               f"(PCA needs {fmt(pca_answer)}). Evaluated at step {int(table['step'].iloc[0])}.")
    fig = make_subplots(rows=1, cols=3, subplot_titles=("MSE per pixel", "PSNR (dB)", "SSIM"))
    for col, (metric, pca_metric) in enumerate([("mse", "pca_mse"), ("psnr_db", "pca_psnr_db"),
                                                ("ssim", "pca_ssim")], start=1):
        fig.add_trace(go.Scatter(x=table["latent"], y=table[metric], name="autoencoder (test)", mode="lines+markers",
                                 line={"color": "#1f77b4"}, showlegend=col == 1, legendgroup="ae"), 1, col)
        fig.add_trace(go.Scatter(x=table["latent"], y=table[pca_metric], name="PCA (test)", mode="lines+markers",
                                 line={"color": "#ff7f0e", "dash": "dash"}, showlegend=col == 1, legendgroup="pca"),
                      1, col)
        fig.update_xaxes(type="log", title_text="latent size", tickvals=table["latent"], row=1, col=col)
    fig.add_trace(go.Scatter(x=table["latent"], y=table["train_psnr_db"], name="autoencoder (train)",
                             mode="lines", line={"color": "#1f77b4", "dash": "dot"}), 1, 2)
    fig.add_hline(y=target, line={"color": "grey", "dash": "dot"}, row=1, col=2)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    st.plotly_chart(fig, width="stretch", key="sweep_fig")
    shown = table[["latent", "mse", "psnr_db", "ssim", "train_psnr_db", "gap_db", "pca_mse", "pca_psnr_db",
                   "pca_ssim"]]
    st.dataframe(shown, hide_index=True, column_config={
        "gap_db": st.column_config.NumberColumn("train − test gap (dB)", format="%.2f"),
        **{c: st.column_config.NumberColumn(c, format="%.4f") for c in ("mse", "pca_mse", "ssim", "pca_ssim")},
        **{c: st.column_config.NumberColumn(c, format="%.2f") for c in ("psnr_db", "train_psnr_db", "pca_psnr_db")}})
    preview = run.artifact_path("preview_reconstructions_by_latent_size.png")
    if preview.exists():
        st.image(str(preview), caption="Top row: test images; then one row per latent size, smallest first")
    st.caption("Open a member in the Latent explorer or the Swap page: each size is a model of its own.")


results()
