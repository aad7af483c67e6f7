"""A seeded procedural music generator with its ground truth.

A track has a tempo, a key and a scale; drums (kick, snare, hats, synthesised), a bass line on the chord
roots, and pads playing a chord progression; sections of 8 bars change the drum pattern, the density of
the hats and the progression. Returned with the truth a visualizer or a metric needs: beat and onset
times, events per instrument and per-band energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "dorian": [0, 2, 3, 5, 7, 9, 10]}
KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
PROGRESSIONS = [[0, 5, 3, 4], [0, 3, 4, 4], [5, 3, 0, 4], [0, 4, 5, 3]]  # scale degrees of chord roots
PATTERNS = [  # 16 sixteenths per bar: kick, snare, hat
    ("x...x...x...x...", "....x.......x...", "x.x.x.x.x.x.x.x."),
    ("x.....x.x.......", "....x.......x...", "xxxxxxxxxxxxxxxx"),
    ("x..x..x...x.....", "....x..x....x...", "..x...x...x...x."),
]


@dataclass
class Track:
    wave: np.ndarray  # (samples,) float32 in [-1, 1]
    sample_rate: int
    tempo: float
    key: str
    scale: str
    seed: int
    beat_times: np.ndarray
    events: dict[str, np.ndarray] = field(default_factory=dict)  # instrument -> onset times (s)

    @property
    def onset_times(self) -> np.ndarray:
        drums = [self.events[k] for k in ("kick", "snare") if k in self.events]
        return np.unique(np.round(np.concatenate(drums), 4)) if drums else np.zeros(0)

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.sample_rate


def _env(n: int, sr: int, decay: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (decay * sr)).astype(np.float32)


def generate_track(seed: int, seconds: float = 8.0, sample_rate: int = 16000, tempo: float | None = None,
                   key: str | None = None, scale: str | None = None) -> Track:
    rng = np.random.default_rng(seed)
    tempo = float(tempo or rng.integers(80, 150))
    key = key or KEYS[int(rng.integers(12))]
    scale = scale or list(SCALES)[int(rng.integers(len(SCALES)))]
    if key not in KEYS or scale not in SCALES:
        raise ValueError(f"key must be one of {KEYS} and scale one of {list(SCALES)}")
    n = int(seconds * sample_rate)
    out = np.zeros(n + sample_rate, np.float32)
    sixteenth = 60.0 / tempo / 4
    steps = int(seconds / sixteenth)
    root = 48 + KEYS.index(key)  # MIDI note of the key's C3-octave root
    degrees = SCALES[scale]
    events: dict[str, list[float]] = {k: [] for k in ("kick", "snare", "hat", "bass", "pad")}
    t_idx = np.arange(sample_rate, dtype=np.float32) / sample_rate

    def midi_hz(m: float) -> float:
        return 440.0 * 2 ** ((m - 69) / 12)

    def place(sound: np.ndarray, t: float) -> None:
        i = int(t * sample_rate)
        m = min(len(sound), len(out) - i)
        if m > 0:
            out[i:i + m] += sound[:m]

    section_bars = 8
    for step in range(steps):
        t = step * sixteenth
        bar, pos = divmod(step, 16)
        section = bar // section_bars
        srng = np.random.default_rng(seed * 1000 + section)
        kick_p, snare_p, hat_p = PATTERNS[int(srng.integers(len(PATTERNS)))]
        progression = PROGRESSIONS[int(srng.integers(len(PROGRESSIONS)))]
        chord_root = degrees[progression[bar % 4]]
        if kick_p[pos] == "x":
            f = 50 + 90 * np.exp(-t_idx[:2400] * 30)
            place(0.9 * np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * _env(2400, sample_rate, 0.08), t)
            events["kick"].append(t)
        if snare_p[pos] == "x":
            noise = rng.standard_normal(3200).astype(np.float32)
            tone = np.sin(2 * np.pi * 190 * t_idx[:3200])
            place((0.35 * noise + 0.25 * tone) * _env(3200, sample_rate, 0.05), t)
            events["snare"].append(t)
        if hat_p[pos] == "x" and rng.random() < 0.9:
            noise = rng.standard_normal(800).astype(np.float32)
            place(0.12 * np.diff(noise, prepend=0) * _env(800, sample_rate, 0.012), t)
            events["hat"].append(t)
        if pos % 4 == 0:  # bass on every beat, the chord root, an octave down
            hz = midi_hz(root - 12 + chord_root)
            m = int(sixteenth * 4 * sample_rate)
            ph = 2 * np.pi * hz * t_idx[:min(m, sample_rate)]
            place(0.3 * (np.sin(ph) + 0.3 * np.sin(2 * ph)) * _env(min(m, sample_rate), sample_rate, 0.25), t)
            events["bass"].append(t)
        if pos == 0:  # a pad chord per bar: root, third and fifth of the scale
            m = min(int(sixteenth * 16 * sample_rate), sample_rate)
            idx = progression[bar % 4]
            notes = [degrees[(idx + k) % 7] + 12 * ((idx + k) // 7) for k in (0, 2, 4)]
            pad = sum(np.sin(2 * np.pi * midi_hz(root + 12 + d) * t_idx[:m]) for d in notes)
            attack = np.minimum(1, np.arange(m) / (0.08 * sample_rate))
            place(0.06 * pad * attack * _env(m, sample_rate, 1.2), t)
            events["pad"].append(t)
    wave = out[:n]
    peak = float(np.abs(wave).max()) or 1.0
    wave = (wave / peak * 0.9).astype(np.float32)
    beats = np.arange(0, seconds, 60.0 / tempo)
    return Track(wave, sample_rate, tempo, key, scale, seed, beats,
                 {k: np.asarray(v, dtype=np.float64) for k, v in events.items()})
