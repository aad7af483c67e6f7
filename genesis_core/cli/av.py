"""`genesis av render`: render any audio file to an mp4 from the terminal, as the Audio → Video page does (the
same chunked, seamless render, the same H.264 + AAC file carrying the input's own sound), with a progress bar and
the sync figures beside their controls.

    genesis av render song.mp3 -o song.mp4                     # the model that ships with the app
    genesis av render song.wav -o song.mp4 --model RUN_ID      # a trained audio_to_video run (or a checkpoint)
    genesis av render song.ogg -o song.mp4 --teacher spectrum_bars --size 256 --fps 30

`genesis av clips`: check a folder (or a zip) of your own videos with sound before training on them: how many
clips train, how many are held out, which files are skipped and why, and the command that trains on them.

    genesis av clips ~/videos/concerts
    genesis av clips concerts.zip                              # unpacked into the workspace's uploads/
    genesis train --task audio_to_video --set data.source=clips --set data.clips=/home/me/videos/concerts
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
    c = actions.add_parser("clips", help="check a folder or zip of your own videos with sound for training",
                           description="Decode every video under PATH (a folder, or a zip unpacked into the "
                                       "workspace's uploads/) at the model's clip settings and say what trains, what "
                                       "is held out and what is skipped, with the command that trains on them.")
    c.add_argument("path", help="a folder of videos with sound, or a zip of them")
    c.add_argument("--size", type=int, default=32, help="frame size the model draws (default 32)")
    c.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    c.add_argument("--seconds", type=float, default=4.0, help="window length in seconds (default 4)")
    c.add_argument("--holdout", type=float, default=0.2, help="share of whole clips held out (default 0.2)")
    c.set_defaults(func=cmd_av_clips)


def cmd_av_clips(args: argparse.Namespace) -> int:
    import shlex

    from genesis_core.av.clips import ClipError, load_library, store_clips_zip
    from genesis_core.av.dataset import ClipSpec
    from genesis_core.store.workspace import Workspace

    path = Path(args.path).expanduser()
    try:
        if path.is_file() and path.suffix.lower() == ".zip":
            folder = store_clips_zip(Workspace(), path.read_bytes())
            print(f"unpacked the videos of {path} into {folder}")
            path = folder
        spec = ClipSpec(seconds=args.seconds, fps=args.fps, size=args.size)
        library = load_library(path, spec, args.holdout, log=lambda line: print(line, file=sys.stderr))
    except ClipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = library.counts()
    print(library.summary())
    print(f"{counts['train_frames']} training frames ({counts['train_frames'] / args.fps / 60:.1f} minutes); held out: "
          + ", ".join(c.name for c in library.validation))
    sets = ["data.source=clips", f"data.clips={path.resolve()}", f"data.holdout={args.holdout:g}",
            f"data.clip.size={args.size}", f"data.clip.fps={args.fps:g}", f"data.clip.seconds={args.seconds:g}"]
    print("train on them: genesis train --task audio_to_video " + " ".join(f"--set {shlex.quote(s)}" for s in sets))
    return 0


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
