"""`genesis av render`: render any audio file to an mp4 from the terminal, as the Audio → Video page does (the
same chunked, seamless render, the same H.264 + AAC file carrying the input's own sound), with a progress bar and
the sync figures beside their controls.

    genesis av render song.mp3 -o song.mp4                     # the model that ships with the app
    genesis av render song.wav -o song.mp4 --model RUN_ID      # a trained audio_to_video run (or a checkpoint)
    genesis av render song.ogg -o song.mp4 --teacher spectrum_bars --size 256 --fps 30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genesis_core.registry import COMMANDS



@COMMANDS.register("av")
def add_av_commands(sub) -> None:
    p = sub.add_parser("av", help="audio to video: render an audio file to an mp4", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True)
    r = actions.add_parser("render", help="render an audio file (wav, mp3, flac, ogg; 10 minutes at most) to an mp4",
                           description="Render an audio file to an mp4 with a trained model (default: the one that "
                                       "ships with the app) or a teacher visualizer; prints the sync figures.")
    r.add_argument("audio", help="the audio file")
    r.add_argument("-o", "--output", required=True, help="the mp4 to write")
    who = r.add_mutually_exclusive_group()
    who.add_argument("--model", default="", help="a run id or checkpoint folder of an audio_to_video model "
                                                  "(default: the shipped model)")
    who.add_argument("--teacher", default="", help="render with a teacher visualizer instead of a model")
    r.add_argument("--size", type=int, default=128, choices=[64, 128, 256], help="frame size in pixels")
    r.add_argument("--fps", type=float, default=24.0, help="frames per second (a model renders best at its own)")
    r.set_defaults(func=cmd_av_render)


def cmd_av_render(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from genesis_core.av.render import (ANALYSIS_RATE, SHIPPED, AudioError, load_audio, load_original_audio,
                                        render_audio)
    from genesis_core.av.visualizers import VISUALIZERS
    from genesis_core.errors import WorkbenchError
    from genesis_core.store.files import atomic_write_bytes

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 2

    if args.teacher and args.teacher not in VISUALIZERS:
        return fail(f"no teacher visualizer {args.teacher!r}; the teachers are {', '.join(VISUALIZERS)}")
    if not 1 <= args.fps <= 60:
        return fail(f"--fps {args.fps:g} is outside 1..60")
    try:
        wave = load_audio(Path(args.audio), ANALYSIS_RATE)
        original = load_original_audio(Path(args.audio))
    except AudioError as exc:
        return fail(f"{args.audio}: {exc}")
    model = model_fps = None
    teacher = args.teacher or "beat_pulse"
    label = f"teacher {teacher}"
    if not args.teacher:
        from genesis_core.training.loading import load_model

        source = args.model or str(SHIPPED / "model")
        try:
            loaded = load_model(source)
        except (WorkbenchError, OSError, KeyError, ValueError) as exc:
            return fail(f"cannot load the model {source}: {exc}")
        if loaded.meta.get("task") != "audio_to_video":
            return fail(f"{source} is a {loaded.meta.get('task')} model, not an audio_to_video one")
        model, teacher, model_fps = loaded.model, loaded.config.data.clip.visualizer, loaded.config.data.clip.fps
        label = f"model {args.model or 'shipped'}"
    bar = tqdm(total=100, unit="%", dynamic_ncols=True, file=sys.stderr, bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description(message[:40])
        bar.update(max(0, round(100 * fraction) - bar.n))

    try:
        out = render_audio(wave, ANALYSIS_RATE, args.fps, args.size, model, model_fps, teacher, None, progress,
                           original=original)
    except (AudioError, ValueError, RuntimeError) as exc:
        bar.close()
        return fail(str(exc))
    bar.close()
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, out["mp4"])
    s, t = out["scores"], out["teacher_scores"]
    print(f"wrote {path} ({out['frames']} frames at {args.fps:g} fps, {args.size}x{args.size}, {label})")
    if out["note"]:
        print(f"note: {out['note']}")
    print(f"AV-Align {s['av_align']:.3f} (onsets and motion peaks within a frame; 1 at best); the same video with "
          f"another track's audio {s.get('shuffled_audio_av_align', float('nan')):.3f} (control); teacher "
          f"{t['av_align']:.3f}; best lag {s['best_lag_frames']} frames")
    return 0
