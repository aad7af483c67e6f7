"""Audio → Video: bring audio (or generate a track), pick a trained model or a teacher visualizer, render
with a progress bar, watch the mp4 with sound, read the sync scores beside their controls, download it or
keep it in the favorites gallery. Training runs as a background job from the same page."""

import time
from pathlib import Path

import streamlit as st

from app_pages.common import show_error, submit, workspace
from genesis_core.av.music import KEYS, SCALES, generate_track
from genesis_core.av.render import (ANALYSIS_RATE, SHIPPED, AudioError, load_audio, load_original_audio,
                                    render_audio)
from genesis_core.av.visualizers import VISUALIZERS

st.title("Audio → Video")
st.write("A network learns to render video from audio, trained on an endless stream of procedural music "
         "paired with algorithmic visualizers. Render any audio with a trained model or with a teacher, "
         "and check how well the picture follows the sound.")

SAMPLE_RATE = ANALYSIS_RATE
FAVORITES = workspace().root / "favorites" / "av"  # what the user saves

def clips_source(upload, folder: str) -> str:
    """The folder a clips job reads: an uploaded zip's videos unpacked into the workspace's uploads (once per
    content), or a folder given by path; "" after one clear sentence on the page when neither is usable. The
    videos are decoded by the job, not here."""
    from genesis_core.av.clips import ClipError, store_clips_zip

    if upload is not None:
        try:
            return str(store_clips_zip(workspace(), upload.getvalue()))
        except ClipError as exc:
            st.error(f"{upload.name}: {exc}")
            return ""
    path = Path(folder.strip()).expanduser()
    if not folder.strip() or not path.is_dir():
        st.error("Upload a zip of videos with sound, or give a folder on this machine that holds them"
                   + (f" ({folder.strip()} is not a folder)." if folder.strip() else "."))
        return ""
    return str(path.resolve())


SOURCES = {"procedural": "procedural music + a teacher visualizer", "clips": "my own clips (videos with sound)",
           "both": "both, half the windows each"}

with st.expander("Train a model", expanded=False):
    source = st.radio("Training pairs", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="av_train_source",
                      help="your own clips: their frames are the teacher, so the model learns to draw what the camera "
                           "saw from what the microphone heard; whole clips are held out for validation")
    clips_zip, clips_folder = None, ""
    if source != "procedural":
        c1, c2 = st.columns(2)
        clips_zip = c1.file_uploader("A zip of videos with sound", type=["zip"], key="av_train_zip")
        clips_folder = c2.text_input("…or a folder on this machine", key="av_train_folder",
                                     placeholder="/path/to/videos", help="mp4, mov, mkv, webm, avi, m4v; files "
                                     "without sound, silent or shorter than a window are skipped and counted")
    c1, c2, c3, c4 = st.columns(4)
    teacher = c1.selectbox("Teacher visualizer", list(VISUALIZERS), index=1, key="av_train_teacher",
                           disabled=source == "clips")
    bridge = c2.selectbox("Temporal bridge", ["gru", "transformer", "none"], key="av_train_bridge")
    size = c3.selectbox("Frame size", [32, 64], key="av_train_size")
    steps = c4.number_input("Steps", 10, 100_000, 600, step=100, key="av_train_steps")
    c1, c2, c3 = st.columns([1, 1, 2])
    encoder = c1.selectbox("Audio encoder", ["mel_cnn", "clap"], key="av_train_encoder",
                           help="clap: LAION-CLAP's HTS-AT, frozen, over the frames' samples (beside a mel CNN)")
    phases = c2.number_input("Running phases", 0, 64, 8, key="av_train_phases",
                             help="learned accumulators (a running sum of a per-frame rate, as sine and cosine): "
                                  "what a teacher whose colour steps with every beat needs; 0 for none")
    clap_weights = c3.text_input("CLAP weights", key="av_train_clap", disabled=encoder != "clap",
                                 placeholder="/path/to/630k-best.pt (or .safetensors), or random",
                                 help="a local LAION-CLAP checkpoint (non-fusion HTSAT-tiny); nothing is downloaded")
    if st.button("Train", type="primary", key="av_train_submit"):
        model = {"bridge": bridge, "phase_channels": int(phases)}
        if encoder == "clap":
            model.update(audio_encoder="clap", clap_weights=clap_weights.strip())
        data = {"clip": {"visualizer": teacher, "size": int(size)}}
        folder = clips_source(clips_zip, clips_folder) if source != "procedural" else ""
        if source == "procedural" or folder:
            if folder:
                data.update(source=source, clips=folder)
            what = teacher if source == "procedural" else f"clips {Path(folder).name}"
            submit({"task": "audio_to_video", "data": data, "model": model, "trainer": {"steps": int(steps)},
                    "name": f"a2v {what} {bridge} {size}px" + (" clap" if encoder == "clap" else "")})

st.subheader("1 · Audio")
source = st.radio("Audio", ["generate", "upload"], horizontal=True, key="av_source",
                  format_func={"generate": "generate a track", "upload": "my audio (wav, mp3, flac, ogg)"}.get)
wave, events, original = None, None, None
if source == "generate":
    c1, c2, c3, c4, c5 = st.columns(5)
    tempo = c1.number_input("Tempo (BPM)", 60, 200, 120, key="av_tempo")
    key = c2.selectbox("Key", KEYS, key="av_key")
    scale = c3.selectbox("Scale", list(SCALES), key="av_scale")
    seconds = c4.number_input("Seconds", 2, 120, 12, key="av_seconds")
    seed = c5.number_input("Seed", 0, 1_000_000, 7, key="av_seed")
    track = generate_track(int(seed), float(seconds), SAMPLE_RATE, float(tempo), key, scale)
    wave, events = track.wave, track.onset_times
else:
    upload = st.file_uploader("Audio file (10 minutes at most)", type=["wav", "mp3", "flac", "ogg"], key="av_upload")
    if upload is not None:
        try:
            wave = load_audio(upload.getvalue(), SAMPLE_RATE)  # 16 kHz mono: what the analysis hears
            original = load_original_audio(upload.getvalue())  # the mp4 carries the user's own sound
        except AudioError as exc:
            show_error(exc)
if wave is None:
    st.stop()
if original is not None:
    st.audio(upload.getvalue())
    st.caption(f"{original[0].shape[0]} channel{'s' if original[0].shape[0] != 1 else ''} at {original[1]:,} Hz: "
               "the video keeps them; the analysis listens to a 16 kHz mono copy.")
else:
    st.audio(wave, sample_rate=SAMPLE_RATE)

st.subheader("2 · Renderer")
runs = [r for r in workspace().list_runs(task="audio_to_video") if r.latest_checkpoint() is not None]
checkpoints = {f"model: {r.id}": str(r.latest_checkpoint()) for r in runs}
labels = {f"model: {r.id}": f"model: {r.name or r.id} · {r.id}" for r in runs}
if (SHIPPED / "model" / "meta.json").exists():
    checkpoints["model: shipped"] = str(SHIPPED / "model")
    labels["model: shipped"] = "model: the small model that ships with the app"
choices = [f"teacher: {v}" for v in VISUALIZERS] + list(checkpoints)
renderer = st.selectbox("Render with", choices, index=len(VISUALIZERS) if checkpoints else 1, key="av_renderer",
                        format_func=lambda c: labels.get(c, c))
c1, c2 = st.columns(2)
fps = c1.selectbox("Frames per second", [12, 24, 30], index=1, key="av_fps")
out_size = c2.selectbox("Output size", [64, 128, 256], index=1, key="av_size")


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_av_model(checkpoint: str):
    from genesis_core.training.loading import load_model

    return load_model(checkpoint)


if st.button("Render", type="primary", key="av_render"):
    bar = st.progress(0.0, text="Computing audio features…")
    started = time.perf_counter()
    try:
        if renderer.startswith("teacher: "):
            model, teacher_name, model_fps = None, renderer.split(": ", 1)[1], None
        else:
            loaded = load_av_model(checkpoints[renderer])
            model, teacher_name, model_fps = loaded.model, loaded.config.data.clip.visualizer, loaded.config.data.clip.fps
        out = render_audio(wave, SAMPLE_RATE, fps, out_size, model, model_fps, teacher_name, events,
                           progress=lambda p, message: bar.progress(p, text=message[:1].upper() + message[1:] + "…"),
                           original=original)
    except (AudioError, ValueError, RuntimeError) as exc:
        bar.empty()
        show_error(exc)
        st.stop()
    bar.progress(1.0, text=f"Rendered {out['frames']} frames in {time.perf_counter() - started:.1f} s")
    if out["note"]:
        st.info(out["note"][:1].upper() + out["note"][1:] + ".")
    st.session_state["av_result"] = {**out, "renderer": renderer, "teacher": teacher_name}

result = st.session_state.get("av_result")
if result:
    left, right = st.columns(2)
    with left, st.container(key="av_rendered"):
        st.markdown(f"**{labels.get(result['renderer'], result['renderer'])}**")
        st.video(result["mp4"], width=480)
    with right:
        if result["teacher_mp4"] is not None:
            st.markdown(f"**teacher: {result['teacher']}** (what the model learned from)")
            st.video(result["teacher_mp4"], width=480)
    s, t = result["scores"], result["teacher_scores"]
    st.subheader("Sync")
    cols = st.columns(4)
    cols[0].metric("AV-Align (onsets ↔ motion peaks, ±1 frame)", f"{s['av_align']:.3f}",
                   help="matched / (audio onsets + motion peaks − matched)")
    cols[1].metric("Teacher (reference)", f"{t['av_align']:.3f}",
                   help="the visualizer the model imitates; a model can follow the beat more closely than it")
    cols[2].metric("Same video, shuffled audio (control)", f"{s['shuffled_audio_av_align']:.3f}")
    cols[3].metric("Best lag (frames)", f"{s['best_lag_frames']}")
    offsets = " · ".join(f"+{o} frames: {v:.3f}" for o, v in s["offset_av_align"].items())
    st.caption(f"Deliberate offsets (control): {offsets}. "
               + (f"Event F1 against the generator's drum onsets: {s['event_f1']:.3f} (teacher {t['event_f1']:.3f})."
                  if "event_f1" in s else "Uploaded audio has no known events, so no event F1."))
    c1, c2 = st.columns(2)
    c1.download_button("Download the mp4", result["mp4"], "audio_to_video.mp4", "video/mp4", key="av_download")
    if c2.button("Save to the favorites gallery", key="av_favorite"):
        FAVORITES.mkdir(parents=True, exist_ok=True)
        path = FAVORITES / f"{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        path.write_bytes(result["mp4"])
        st.success(f"Saved {path.name} to the favorites gallery.")

gallery = (sorted(FAVORITES.glob("*.mp4"), reverse=True) if FAVORITES.exists() else [])[:6]
gallery += sorted(SHIPPED.glob("*.mp4"))[: 6 - len(gallery)] if SHIPPED.exists() else []
if gallery:
    st.subheader("Favorites")
    cols = st.columns(3)
    for i, path in enumerate(gallery):
        with cols[i % 3]:
            st.video(str(path), width=480)
            st.caption(path.name)
