import io
import wave as wavmod

import numpy as np
import pytest
import torch
from torchcodec.decoders import AudioDecoder, VideoDecoder

from genesis_core.av.dataset import ClipSpec, ProceduralAVDataset
from genesis_core.av.render import AudioError, encode_mp4, load_audio, load_original_audio


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wavmod.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def test_any_rate_and_stereo_become_mono_at_the_lab_rate(tmp_path):
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 220 * t)], 1).reshape(-1)
    path = tmp_path / "s.wav"
    path.write_bytes(wav_bytes(stereo, 44100, channels=2))
    wave = load_audio(path, 16000)
    assert wave.dtype == np.float32 and abs(len(wave) - 16000) < 200


@pytest.mark.parametrize("data, message", [
    (b"", "the audio file is empty."),
    (b"RIFF\x00\x00garbage-not-audio" * 10, "the file is not audio we can decode"),
    (wav_bytes(np.zeros(16000), 16000), "the audio is silent"),
])
def test_bad_audio_gets_one_sentence(data, message):
    with pytest.raises(AudioError) as err:
        load_audio(data)
    assert str(err.value).startswith(message)


def test_too_long_audio_is_refused():
    with pytest.raises(AudioError, match="the limit is 1 s"):
        load_audio(wav_bytes(np.sin(np.arange(48000) / 5) * 0.5, 16000), max_seconds=1)


def test_mp4_has_h264_video_and_aac_audio_in_one_file(tmp_path):
    frames = torch.rand(48, 3, 64, 64)
    audio = (np.sin(np.arange(32000) / 3) * 0.3).astype(np.float32)
    path = tmp_path / "x.mp4"
    path.write_bytes(encode_mp4(frames, 24, audio, 16000))
    v, a = VideoDecoder(str(path)), AudioDecoder(str(path))
    assert v.metadata.codec == "h264" and len(v) == 48 and a.metadata.codec == "aac"
    assert abs(a.metadata.duration_seconds - 2.0) < 0.1


def test_the_mp4_carries_the_users_own_audio_at_its_own_rate_and_channels(tmp_path):
    t = np.arange(2 * 22050) / 22050
    left, right = np.sin(2 * np.pi * 440 * t) * 0.5, np.sin(2 * np.pi * 660 * t) * 0.3
    upload = wav_bytes(np.stack([left, right], 1).reshape(-1), 22050, channels=2)
    wave = load_audio(upload, 16000)  # what the analysis hears: 16 kHz mono
    samples, rate = load_original_audio(upload)
    assert wave.ndim == 1 and samples.shape[0] == 2 and rate == 22050
    path = tmp_path / "own.mp4"
    path.write_bytes(encode_mp4(torch.rand(48, 3, 32, 32), 24, samples, rate))
    a = AudioDecoder(str(path))
    assert a.metadata.sample_rate == 22050 and a.metadata.num_channels == 2
    back = a.get_all_samples().data.numpy()
    n = min(back.shape[1], len(left)) - 2048
    corr = [np.corrcoef(back[c, 1024:n], ch[1024:n])[0, 1] for c, ch in enumerate((left, right))]
    assert min(corr) > 0.9  # each channel is the user's own (AAC delays by a few samples at most)


def test_streams_never_repeat_across_workers_and_ranks_and_resume_where_they_stopped():
    spec = ClipSpec(seconds=1.0, size=16)

    class Info:
        def __init__(self, id, num_workers):
            self.id, self.num_workers = id, num_workers

    import genesis_core.av.dataset as ds_mod

    seen = set()
    for rank in range(2):
        for worker in range(3):
            ds_mod.get_worker_info = lambda w=worker: Info(w, 3)
            seeds = ProceduralAVDataset(spec, 0, rank, 2).seeds()
            batch = [next(seeds) for _ in range(20)]
            assert not (set(batch) & seen)
            seen |= set(batch)
    ds_mod.get_worker_info = lambda: Info(1, 3)
    # after 7 batches of 4 from 3 workers, worker 1 has made batches 1 and 4: 8 clips
    resumed = ProceduralAVDataset(spec, 0, 0, 1, start_batches=7, batch_size=4).seeds()
    fresh = ProceduralAVDataset(spec, 0, 0, 1).seeds()
    skipped = [next(fresh) for _ in range(9)]
    assert next(resumed) == skipped[8]
    from torch.utils.data import get_worker_info

    ds_mod.get_worker_info = get_worker_info


def test_render_audio_gives_the_video_its_teacher_and_scores():
    from genesis_core.av.music import generate_track
    from genesis_core.av.render import render_audio

    track = generate_track(8, 3.0)
    steps = []
    out = render_audio(track.wave, 16000, 12, 32, visualizer="spectrum_bars", events=track.onset_times,
                       progress=lambda p, m: steps.append(p))
    assert out["frames"] == 36 and out["teacher_mp4"] is None and out["mp4"][4:8] == b"ftyp"
    assert {"av_align", "shuffled_audio_av_align", "offset_av_align", "event_f1"} <= set(out["scores"])
    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)


def test_audio_of_8_samples_is_refused_with_its_minimum_length_and_the_minimum_renders():
    from genesis_core.av.render import MIN_SECONDS, render_audio

    with pytest.raises(AudioError, match="needs at least 100 ms"):
        load_audio(wav_bytes(np.array([0.5, -0.5] * 4), 16000))
    n = int(MIN_SECONDS * 16000)
    wave = load_audio(wav_bytes(np.sin(np.arange(n) / 3) * 0.5, 16000))
    out = render_audio(wave, 16000, 12, 16, visualizer="spectrum_bars")  # the shortest accepted audio renders
    assert out["frames"] >= 1 and out["mp4"][4:8] == b"ftyp"


def test_a_long_render_is_seamless_across_its_chunks():
    """The shipped model renders 40 s of music in chunks of 100 frames: with context across each chunk's edge the
    frames match one pass over the whole track (the bidirectional GRU hears far and the running phases add up what
    it hears, so within 0.06 of the pixel range, and 2e-3 on average); chunks rendered on their own (no context)
    jump at their edges."""
    from pathlib import Path

    from genesis_core.av.features import audio_features, feature_matrix
    from genesis_core.av.music import generate_track
    from genesis_core.training.loading import load_model

    shipped = Path(__file__).resolve().parents[2] / "favorites" / "av" / "model"
    loaded = load_model(str(shipped))
    model, fps = loaded.model.eval(), loaded.config.data.clip.fps
    feats = feature_matrix(audio_features(generate_track(5, 40.0, 16000).wave, 16000, fps))
    with torch.no_grad():
        whole = model(feats[None])[0]
    chunked = model.render(feats, chunk=100)
    error = (chunked - whole).abs()
    assert chunked.shape == whole.shape and error.max() < 0.06 and error.mean() < 2e-3
    seams = model.render(feats, chunk=100, context=0)  # the old way: each chunk on its own
    edges = torch.arange(100, len(whole), 100)  # the first frame of each chunk after the first
    assert (seams - whole).abs()[edges].mean() > 5 * error[edges].mean()
