"""`genesis av render` as a user runs it, in a real subprocess: a generated stereo track becomes an mp4 whose
frames, length and sound are what was asked for, rendered by the shipped model; a teacher too; bad input is one
sentence and exit code 2, with nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import scipy.io.wavfile
from torchcodec.decoders import AudioDecoder, VideoDecoder

from genesis_core.av.music import generate_track
from tests.timeouts import scaled


def genesis(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genesis_core", "av", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=scaled(300))


def test_render_an_audio_file_to_an_mp4_with_its_own_sound(workspace, tmp_path):
    track = generate_track(7, 3.0, 22050)
    song = tmp_path / "song.wav"
    scipy.io.wavfile.write(song, 22050, (np.stack([track.wave, 0.5 * track.wave], 1) * 32767).astype(np.int16))
    out = genesis("render", str(song), "-o", str(tmp_path / "song.mp4"), "--fps", "12", "--size", "64")
    assert out.returncode == 0, out.stderr
    assert "model shipped" in out.stdout and "AV-Align" in out.stdout and "100%" in out.stderr  # the bar ends full
    video = VideoDecoder(str(tmp_path / "song.mp4"))
    assert video.metadata.num_frames == 36 and (video.metadata.height, video.metadata.width) == (64, 64)
    sound = AudioDecoder(str(tmp_path / "song.mp4"))
    assert sound.metadata.num_channels == 2 and sound.metadata.sample_rate == 22050  # the file's own, not 16 kHz
    teacher = genesis("render", str(song), "-o", str(tmp_path / "t.mp4"), "--teacher", "spectrum_bars")
    assert teacher.returncode == 0 and "teacher spectrum_bars" in teacher.stdout


def test_bad_input_is_one_sentence_and_writes_nothing(workspace, tmp_path):
    (tmp_path / "bad.mp3").write_bytes(b"not audio at all")
    for args, message in [((str(tmp_path / "bad.mp3"),), "the file is not audio we can decode"),
                          ((str(tmp_path / "bad.mp3"), "--teacher", "nope"), "no teacher visualizer 'nope'"),
                          ((str(tmp_path / "bad.mp3"), "--fps", "500"), "--fps 500 is outside 1..60")]:
        out = genesis("render", *args, "-o", str(tmp_path / "x.mp4"))
        assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.mp4").exists()
