import numpy as np
import pytest
import torch

from genesis_core.av.features import audio_features
from genesis_core.av.music import generate_track
from genesis_core.av.sync import av_align, best_lag, event_f1, shift, sync_report
from genesis_core.av.visualizers import VISUALIZERS, render_teacher


def test_music_is_seeded_and_carries_its_ground_truth():
    a, b, c = generate_track(5, 6.0), generate_track(5, 6.0), generate_track(6, 6.0)
    assert np.array_equal(a.wave, b.wave) and not np.array_equal(a.wave, c.wave)
    assert len(a.wave) == 6 * 16000 and np.abs(a.wave).max() <= 0.9 + 1e-6
    assert {"kick", "snare", "hat", "bass", "pad"} <= set(a.events)
    beat = 60 / a.tempo
    assert np.allclose(np.diff(a.beat_times), beat) and len(a.onset_times) > 6
    fixed = generate_track(1, 2.0, sample_rate=22050, tempo=120, key="A", scale="minor")
    assert (fixed.tempo, fixed.key, fixed.scale, fixed.sample_rate) == (120, "A", "minor", 22050)
    with pytest.raises(ValueError):
        generate_track(1, 1.0, key="H")


def test_kick_onsets_show_up_in_the_audio_features():
    track = generate_track(2, 8.0, tempo=120)
    f = audio_features(track.wave, track.sample_rate, 24)
    assert f.mel.shape == (192, 32) and f.onset.max() == pytest.approx(1.0)
    kicks = np.round(track.events["kick"] * 24).astype(int)
    strong = f.onset.numpy()[np.clip(kicks, 0, 191)]
    assert strong.mean() > 2 * f.onset.numpy().mean()  # onset strength peaks where the kicks are


@pytest.mark.parametrize("name", sorted(VISUALIZERS))
def test_visualizers_are_deterministic_any_size_and_react_to_sound(name):
    track = generate_track(3, 3.0)
    f = audio_features(track.wave, track.sample_rate, 12)
    a = render_teacher(name, f, (40, 56), seed=1)
    assert a.shape == (36, 3, 40, 56) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, render_teacher(name, f, (40, 56), seed=1))
    silent = audio_features(np.zeros_like(track.wave) + 1e-9, track.sample_rate, 12)
    assert not torch.allclose(a, render_teacher(name, silent, (40, 56), seed=1))


def test_sync_scores_the_teacher_above_its_controls():
    track, other = generate_track(3, 10.0), generate_track(77, 10.0)
    f, g = audio_features(track.wave, 16000, 24), audio_features(other.wave, 16000, 24)
    frames = render_teacher("beat_pulse", f)
    report = sync_report(f.onset.numpy(), frames, 24, track.onset_times, g.onset.numpy(), offsets=(2, 3))
    assert report["av_align"] > report["shuffled_audio_av_align"] + 0.1  # another rhythmic track aligns by chance
    assert report["av_align"] > max(report["offset_av_align"].values())
    assert report["best_lag_frames"] == 0 and best_lag(f.onset.numpy(), shift(frames, 3)) == 3
    assert event_f1(track.onset_times, frames, 24)["f1"] > 0.3
    assert av_align(f.onset.numpy(), torch.zeros_like(frames)) == 0.0
