"""Images → Train: an autoencoder, a VAE, or a class-conditional model (one strategy or all four side by
side), on built-in digits or the user's own images, as a background job."""

import streamlit as st

from app_pages.common import estimate_text, key_help, show_error, submit, workspace
from app_pages.vision_common import dataset_form, grid_image, pick_autoencoder
from genesis_core.errors import WorkbenchError
from genesis_core.vision.analysis.catalog import list_autoencoders

st.title("Train an image model")
st.write("Autoencoders and VAEs learn a latent code of the images; class-conditional ones are also told the "
         "class when decoding. Every run reports test MSE, PSNR and SSIM beside PCA with as many components.")

data = dataset_form("train")

st.subheader("Model")
c1, c2, c3 = st.columns(3)
arch = c1.selectbox("Architecture", ["conv", "mlp"], key="train_arch",
                    format_func={"conv": "convolutional", "mlp": "MLP"}.get,
                    help=key_help("image_autoencoder", "model.arch"))
latent = c2.number_input("Latent size", 1, 512, 16, key="train_latent",
                         help=key_help("image_autoencoder", "model.latent_dim"))
steps = c3.number_input("Training steps", 10, 100_000, 600, step=100, key="train_steps",
                        help=key_help("image_autoencoder", "trainer.steps"))
c1, c2, c3 = st.columns(3)
variational = c1.toggle("VAE", key="train_vae", help="Encoder outputs a mean and a variance; KL to N(0, I).")
beta = c2.number_input("β (KL weight)", 0.0, 100.0, 1.0, step=0.5, key="train_beta", disabled=not variational)
lr = c3.number_input("Learning rate", 1e-5, 1.0, 2e-3, format="%.4f", key="train_lr",
                     help=key_help("image_autoencoder", "trainer.lr"))
strategies = {"none": "none (unconditional)", "onehot": "one-hot concatenated to z",
              "embedding": "learned embedding concatenated to z", "bias": "additive per-class bias",
              "film": "FiLM in every decoder block"}
c1, c2 = st.columns(2)
conditioning = c1.selectbox("Class conditioning", list(strategies), format_func=strategies.get, key="train_cond")
posterior = c2.selectbox("Posterior q(z|x)", ["gaussian", "iaf"], key="train_posterior", disabled=not variational,
                         format_func={"gaussian": "diagonal Gaussian",
                                      "iaf": "Gaussian + inverse autoregressive flow (IAF)"}.get,
                         help=key_help("image_autoencoder", "model.posterior"))
kind = ("VAE" + (" IAF" if posterior == "iaf" else "") if variational else "AE") + ("" if conditioning == "none" else f" [{conditioning}]")
proposed = f"{data['dataset'] if data else 'images'} {arch} {kind} z={int(latent)}"  # the name the run gets if left empty
c1, c2 = st.columns([3, 1])
name = c1.text_input("Run name", key="train_name", placeholder=proposed, help=key_help("image_autoencoder", "name"))
seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed", help="the same seed and settings train the same model")

config = {
    "task": "image_autoencoder",
    "name": name,
    "data": data or {},
    "model": {"arch": arch, "latent_dim": int(latent), "variational": variational, "beta": float(beta),
              "conditioning": conditioning, "posterior": posterior if variational else "gaussian"},
    "trainer": {"steps": int(steps), "lr": float(lr), "seed": int(seed), "eval_every": max(1, int(steps) // 6),
                "checkpoint_every": max(1, int(steps) // 3)},
}
config["name"] = name or proposed

st.caption(f"{int(steps)} steps: {estimate_text('image_autoencoder', int(steps))}.")
left, right = st.columns(2)
if left.button("Train", type="primary", key="train_submit", disabled=data is None):
    submit(config)
if right.button("Compare all four conditioning strategies", key="train_compare", disabled=data is None,
                help="Four jobs with these settings, one per strategy, tagged for comparison."):
    import time

    tag = "conditioning-" + time.strftime("%Y%m%d-%H%M%S")
    for strategy in ("onehot", "embedding", "bias", "film"):
        cfg = {**config, "model": {**config["model"], "conditioning": strategy},
               "name": f"{config['name'].split(' [')[0]} [{strategy}]"}
        submit(cfg, tags=[tag])

st.subheader("Samples from a trained model's prior")
st.caption("Decode codes drawn from the prior (a VAE's N(0, I); for a plain autoencoder, a Gaussian fitted to its "
           "training codes), every class in turn for a conditional model, and score them with the sample-quality "
           "scorer: FD in a domain classifier's features beside held-out real images and noise, precision and "
           "recall, and the share read as the class asked for. This is how the conditioning strategies compare.")

trained = list_autoencoders(workspace())
if trained:
    picked = pick_autoencoder("Model", "prior_model", trained)
    if picked is not None and st.button("Score 1,000 prior samples", key="prior_score"):
        from genesis_core.vision.analysis import cached as analyses
        from genesis_core.vision.analysis.conditional import prior_samples

        entry, model, task, ckpt = picked
        try:
            with st.spinner("Sampling and scoring (the domain classifier trains once per dataset)…"):
                q = analyses.prior_quality(model, entry.key, ckpt, task.split, task.config.data)
        except (ValueError, WorkbenchError) as exc:
            show_error(exc)
        else:
            b = q["baselines"]
            m = st.columns(4)
            m[0].metric("FD (lower is better)", f"{q['fd']:.1f}",
                        help=f"held-out real {b['held_out_real']['fd']:.1f} · noise {b['noise']['fd']:.1f}")
            m[1].metric("Precision", f"{q['precision']:.3f}", help=f"held-out real {b['held_out_real']['precision']:.3f}")
            m[2].metric("Recall", f"{q['recall']:.3f}", help=f"held-out real {b['held_out_real']['recall']:.3f}")
            m[3].metric("Class accuracy", f"{q['class_accuracy']:.3f}" if q["conditional"] else "–",
                        help="the share of samples the domain classifier reads as the class asked for"
                             if q["conditional"] else "an unconditional model is not asked for a class")
            st.caption(f"{q['samples']} samples from {q['prior']}; held-out real FD {b['held_out_real']['fd']:.1f}, "
                       f"noise {b['noise']['fd']:.1f}.")
            if q["worse_than_noise"]:
                st.warning("These samples are further from the data than uniform noise is (FD): the prior is not where "
                           "the decoder learned to draw. Train longer, or use a VAE.")
            images, _, _ = prior_samples(model, task.split, 32)
            st.image(grid_image([images[:16], images[16:32]], 720), width=720, caption="Prior samples")
else:
    st.caption("No trained image model yet: train one above, then score its prior samples here.")
