"""`python -m genesis_core images ...`: the image lab's analyses in the terminal, the same functions the
pages call.

    python -m genesis_core images models
    python -m genesis_core images bottleneck RUN --target 20
    python -m genesis_core images interpolate MODEL --from 3 --to 7 --method slerp -o path.gif
    python -m genesis_core images project MODEL --method umap
    python -m genesis_core images probe MODEL
    python -m genesis_core images stitch --encoder MODEL_A --decoder MODEL_B --translator procrustes
    python -m genesis_core images stitch --all --translator affine
    python -m genesis_core images restore RUN --kind noise
    python -m genesis_core images evaluate RUN [--checkpoint STEP] [--json]

MODEL is a run id, or RUN:z8 for a member of a bottleneck sweep (`images models` lists them).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast

from genesis_core.errors import CLIError
from genesis_core.cli.actions import add_actions
from genesis_core.cli.output import print_frame
from genesis_core.registry import COMMANDS
from genesis_core.store.files import atomic_write_bytes


@COMMANDS.register("images")
def add_image_commands(sub) -> None:
    p = sub.add_parser("images", help="image lab analyses: bottleneck, interpolation, projection, probe, "
                                      "stitching, restoration", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    model = {"nargs": "?", "metavar": "MODEL", "help": "a model: a run id, or RUN:zK for a bottleneck sweep member"}
    options: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        "model": ((), model),
        "run": ((), {**model, "dest": "model", "metavar": "RUN",
                     "help": "the run (a bottleneck sweep, or a restoration run)"}),
        "target": (("--target",), {"type": float, "default": 18.0, "help": "PSNR to reach, dB"}),
        "start": (("--from",), {"dest": "start", "type": int, "default": 0, "help": "first test image (or class)"}),
        "end": (("--to",), {"dest": "end", "type": int, "default": 1, "help": "last test image (or class)"}),
        "class_means": (("--class-means",), {"action": "store_true", "help": "between class means, not images"}),
        "method": (("--method",), {"default": "", "help": "interpolate: lerp|slerp|direction_slerp; "
                                                          "project: pca|umap|tsne"}),
        "steps": (("--steps",), {"type": int, "default": 12, "help": "frames between the two images"}),
        "output": (("-o", "--output"), {"help": ".png strip, .gif or .mp4"}),
        "encoder": (("--encoder",), {"help": "the model whose encoder is used"}),
        "decoder": (("--decoder",), {"help": "the model whose decoder is used"}),
        "translator": (("--translator",), {"default": "affine", "help": "none|lstsq|procrustes|affine"}),
        "anchors": (("--anchors",), {"type": int, "default": 500, "help": "images the translator is fit on"}),
        "all": (("--all",), {"action": "store_true", "help": "every pair of models with the same image size"}),
        "kind": (("--kind",), {"default": "noise", "help": "noise|blur|mask|pixelate|posterise|halftone|kuwahara|swirl"}),
        "models": ((), {"nargs": "+", "metavar": "MODEL", "help": "two or more models (run ids or RUN:zK)"}),
        "neighbours": (("--neighbours",), {"type": int, "default": 10, "help": "k of the mutual k-NN (default 10)"}),
        "images": (("--images",), {"type": int, "default": 1000, "help": "test images compared (default 1000)"}),
        "samples": (("--samples",), {"type": int, "default": 1000, "help": "prior samples scored (default 1000)"}),
        "checkpoint": (("--checkpoint",), {"type": int, "default": None, "metavar": "STEP",
                                           "help": "the checkpoint of this step (default: the latest)"}),
        "json": (("--json",), {"action": "store_true", "help": "print JSON"}),
    }
    add_actions(p, {
        "models": ("every trained autoencoder and sweep member, with its key", []),
        "bottleneck": ("a sweep's PSNR against the latent size, and the smallest latent reaching --target",
                       ["run", "target"]),
        "interpolate": ("frames between two test images (or class means) through the latent space",
                        ["model", "start", "end", "class_means", "method", "steps", "output"]),
        "project": ("a 2-D map of the test set's codes and its trustworthiness", ["model", "method"]),
        "probe": ("how well a linear probe reads the class from the codes", ["model"]),
        "stitch": ("one model's encoder into another's decoder through a translator",
                   ["encoder", "decoder", "translator", "anchors", "all"]),
        "restore": ("a restorer's PSNR against the corruption level, and the mismatch matrix", ["run", "kind"]),
        "similarity": ("linear CKA and mutual k-NN between the latent spaces of models, on the same test images",
                       ["models", "neighbours", "images"]),
        "samples": ("samples from a model's prior scored by the sample-quality scorer: FD, precision, recall, "
                    "class accuracy (conditional models)", ["model", "samples"]),
        "evaluate": ("a checkpoint's test figures beside its baseline: PSNR/SSIM beside PCA per class (autoencoders), "
                     "FD/precision/recall beside held-out real images and noise (generative families)",
                     ["run", "checkpoint", "json"]),
    }, options, late_positionals=("model", "run"))
    p.set_defaults(func=cmd_images)


def _need(value: str | None, what: str) -> str:

    if not value:
        raise CLIError(f"give {what}")
    return value



def cmd_images(args: argparse.Namespace) -> int:
    import pandas as pd

    from genesis_core.store.workspace import Workspace
    from genesis_core.vision.analysis import catalog
    from genesis_core.vision.data import DatasetError

    ws = Workspace()
    try:
        if args.action == "models":
            entries = catalog.list_autoencoders(ws)
            if not entries:
                print("no trained image models yet")
            for e in entries:
                print(f"{e.key:<52} z={e.latent_dim:<4} {'conditional ' if e.conditional else ''}{e.label}")
            return 0
        if args.action == "bottleneck":
            table = catalog.bottleneck_table(ws.get_run(_need(args.model, "a sweep run id")))
            print_frame(table.drop(columns=["step"]))
            ae, pca = catalog.minimum_latent(table, args.target), catalog.minimum_latent(table, args.target, "pca_psnr_db")
            print(f"smallest latent reaching {args.target:g} dB: {ae if ae else 'none tried'} "
                  f"(PCA: {pca if pca else 'none tried'})")
            return 0
        if args.action == "restore":
            from genesis_core.training.loading import load_model
            from genesis_core.vision.corruptions import CLASSICAL_FILTERS
            from genesis_core.vision.tasks.restoration import EVAL_LEVELS, RestorationNet, level_mismatch, psnr_vs_level

            loaded = load_model(_need(args.model, "a restoration run id"), ws)
            if args.kind not in loaded.config.corruptions:
                raise CLIError(f"this restorer was trained on {', '.join(loaded.config.corruptions)}, not {args.kind}")
            x = loaded.task.split.test_x[:300]
            net = cast(RestorationNet, loaded.model)
            if "apply" in net.directions:
                from genesis_core.vision.tasks.restoration import apply_scores, cycle_matrix

                print(f"{args.kind} applied by the network vs the exact procedure, PSNR (dB) on 300 test images")
                print_frame(pd.DataFrame([apply_scores(net, x, args.kind, lv) for lv in EVAL_LEVELS]))
                if "reverse" not in net.directions:
                    return 0
                kinds = list(net.kinds)
                print("apply (rows) -> reverse (columns) cycle at level 0.5, PSNR (dB) vs the clean images")
                print_frame(pd.DataFrame(cycle_matrix(net, x, 0.5), index=kinds, columns=kinds)
                             .reset_index(names="applied"))
            print(f"{args.kind}: PSNR (dB) on 300 test images; classical = {CLASSICAL_FILTERS[args.kind]}")
            print_frame(pd.DataFrame(psnr_vs_level(net, x, args.kind))[
                ["level", "restored_psnr_db", "identity_psnr_db", "classical_psnr_db", "restored_ssim"]])
            m = level_mismatch(net, x, args.kind)
            print("level mismatch (rows: level told, columns: true level), PSNR dB")
            print_frame(pd.DataFrame(m, index=EVAL_LEVELS, columns=[f"{lv:g}" for lv in EVAL_LEVELS])
                         .reset_index(names="told"))
            return 0
        if args.action == "stitch":
            return _stitch(args, ws)
        if args.action == "similarity":
            return _similarity(args, ws)
        if args.action == "evaluate":
            return _evaluate(args, ws)
        model, task = catalog.load_autoencoder(_need(args.model, "a model (run id or RUN:zK)"), ws)
        split = task.split
        if args.action == "interpolate":
            from genesis_core.vision.analysis import latent as L

            z = L.encode_images(model, split.test_x)
            if args.class_means:
                means = L.class_means(z, split.test_y)
                z0, z1, ya, yb = means[args.start], means[args.end], args.start, args.end
            else:
                z0, z1 = z[args.start], z[args.end]
                ya, yb = int(split.test_y[args.start]), int(split.test_y[args.end])
            methods = [args.method] if args.method else list(L.METHODS)
            y = L.class_path(ya, yb, args.steps) if model.conditional else None
            for method in methods:
                frames = L.decode_latents(model, L.interpolate(z0, z1, args.steps, cast(Any, method)), y)
                s = L.path_smoothness(frames)
                print(f"{method:<16} mean step {s['mean_step']:.4f}  max step {s['max_step']:.4f}  "
                      f"max/mean {s['max_over_mean']:.2f}")
            if args.output:
                out = Path(args.output)
                exports: dict[str, Any] = {".png": L.strip_png, ".gif": L.animation_gif, ".mp4": L.animation_mp4}
                export = exports.get(out.suffix.lower())
                if export is None:
                    raise CLIError("the output must end in .png, .gif or .mp4")
                atomic_write_bytes(out, export(frames))
                print(f"wrote {out} ({methods[-1]})")
            return 0
        if args.action == "project":
            from genesis_core.vision.analysis import cached as analyses

            method, checkpoint = args.method or "pca", catalog.checkpoint_of(args.model, ws)
            z = analyses.encodings(model, args.model, checkpoint, split.test_x)
            p = analyses.projection(z, args.model, checkpoint, method)
            print(f"{method}: trustworthiness {p['trustworthiness']:.3f} on {len(p['coords'])} test points"
                  + ("" if p["can_place_new_points"] else " (cannot place new points)"))
            return 0
        if args.action == "samples":
            from genesis_core.vision.analysis import cached as analyses

            q = analyses.prior_quality(model, args.model, catalog.checkpoint_of(args.model, ws), split,
                                       task.config.data, args.samples)
            b = q["baselines"]
            print(f"{q['samples']} samples from {q['prior']}; FD in a domain classifier's features "
                  f"(test accuracy {q['classifier_accuracy']:.3f}), lower is better")
            for label, row in (("prior samples", q), ("held-out real (floor)", b["held_out_real"]),
                               ("uniform noise", b["noise"])):
                extra = f"  class accuracy {row['class_accuracy']:.3f}" if "class_accuracy" in row else ""
                print(f"{label:<22} FD {row['fd']:9.2f}  precision {row['precision']:.3f}  recall {row['recall']:.3f}"
                      + extra)
            if q["worse_than_noise"]:
                print("note: these samples are further from the data than uniform noise is (FD): the prior is not "
                      "where the decoder learned to draw; train longer, or use a VAE")
            if not q["conditional"]:
                print("class accuracy: not defined (an unconditional model is not asked for a class)")
            return 0
        if args.action == "probe":
            from genesis_core.vision.analysis.conditional import probe_model

            r = probe_model(model, split)
            print(f"label probe accuracy {r['probe_accuracy']:.3f} (majority class {r['majority_rate']:.3f})")
            return 0
    except (DatasetError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    return 2


def _evaluate(args: argparse.Namespace, ws) -> int:
    import json

    import pandas as pd

    from genesis_core.training.loading import load_model
    from genesis_core.vision.analysis.evaluation import evaluate_checkpoint

    target = _need(args.model, "a run id (or a checkpoint folder)")
    if (Path(target) / "meta.json").is_file():  # a checkpoint folder itself (the shipped zoo's members)
        result = evaluate_checkpoint(load_model(target, ws))
        run = None
    else:
        run = ws.get_run(target)
        result = evaluate_checkpoint(load_model(_checkpoint_of(run, args.checkpoint), ws))
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{run.id if run else target} · {result['task']} · checkpoint {result['checkpoint']}: test figures beside "
          "the baseline")
    print_frame(pd.DataFrame(result["overall"]).fillna(""))
    if result["per_class"]:
        print("per class (test images of each class)")
        print_frame(pd.DataFrame(result["per_class"]))
    return 0


def _checkpoint_of(run, step: int | None) -> Path:
    if step is None:
        path = run.latest_checkpoint()
        if path is None:
            raise CLIError(f"run {run.id} has no checkpoint yet")
        return path
    found = {int(p.name.split("_", 1)[1]): p for p in run.checkpoints_dir.glob("step_*")
             if p.name.split("_", 1)[1].isdigit() and (p / "meta.json").exists()}
    if step not in found:
        raise CLIError(f"run {run.id} has no checkpoint at step {step}; it has "
                       + (", ".join(map(str, sorted(found))) or "none"))
    return found[step]


def _stitch(args: argparse.Namespace, ws) -> int:
    import numpy as np

    from genesis_core.vision.analysis import cached as analyses, catalog

    if args.all:
        entries = catalog.list_autoencoders(ws)
        first = entries[0] if entries else None
        if first is None:
            raise CLIError("no trained image models yet")
        pool = [e for e in entries if e.image_shape == first.image_shape]
        models = {e.key: catalog.load_autoencoder(e.key, ws)[0] for e in pool}
        checkpoints = {e.key: catalog.checkpoint_of(e.key, ws) for e in pool}
        split = catalog.load_autoencoder(first.key, ws)[1].split
        m = analyses.swap_matrix(models, checkpoints, split.train_x[:args.anchors], split.test_x[:500],
                                 split.test_y[:500], args.translator)
        names = list(models)
        print(f"PSNR (dB) of encoder (row) -> {args.translator} -> decoder (column) vs the decoder's own reconstruction")
        for i, a in enumerate(names):
            print(f"{a:<44} " + " ".join("   -  " if np.isnan(v) else f"{v:6.2f}" for v in m[i]))
        return 0
    key_a, key_b = _need(args.encoder, "--encoder"), _need(args.decoder, "--decoder")
    a, task = catalog.load_autoencoder(key_a, ws)
    b, task_b = catalog.load_autoencoder(key_b, ws)
    split = task.split
    if split.image_shape != task_b.split.image_shape:
        raise CLIError("the two models were trained on images of different sizes")
    if key_a == key_b:
        print("note: the encoder and the decoder are the same model; the swap is its own reconstruction")
    r = analyses.swap(a, b, (key_a, catalog.checkpoint_of(key_a, ws)), (key_b, catalog.checkpoint_of(key_b, ws)),
                      split.train_x[:args.anchors], split.test_x[:500], split.test_y[:500], args.translator, keep=0)
    print(f"{args.translator}: swap vs decoder's own reconstruction {r['psnr_db']:.2f} dB (MSE {r['mse']:.5f}); "
          f"vs original {r['psnr_vs_original_db']:.2f} dB; decoder's own vs original {r['own_psnr_vs_original_db']:.2f} dB")
    return 0


def _similarity(args: argparse.Namespace, ws) -> int:
    import numpy as np

    from genesis_core.vision.analysis import cached as analyses, catalog

    keys = list(dict.fromkeys(args.models))
    if len(keys) < 2:
        raise CLIError("give two or more different models")
    loaded = {key: catalog.load_autoencoder(key, ws) for key in keys}
    first_task = loaded[keys[0]][1]
    for key, (_, task) in loaded.items():
        if task.split.image_shape != first_task.split.image_shape:
            raise CLIError(f"{key} was trained on images of another size than {keys[0]}; compare models of one size")
    images = first_task.split.test_x[:args.images]
    out = analyses.similarity_matrix({k: m for k, (m, _) in loaded.items()},
                                     {k: catalog.checkpoint_of(k, ws) for k in keys}, images,
                                     f"test:{first_task.config.data.dataset}", args.neighbours)
    width = max(len(k) for k in keys)
    for title, matrix in (("linear CKA", out["cka"]), (f"mutual {out['k']}-NN", out["knn"])):
        print(f"{title} on {out['images']} test images of {keys[0]}'s data (1 = the same organisation)")
        print(" " * (width + 2) + " ".join(f"{i + 1:>6}" for i in range(len(keys))))
        for i, key in enumerate(keys):
            print(f"{key:<{width}}  " + " ".join(f"{v:6.3f}" for v in matrix[i]) + f"   ({i + 1})")
    off = ~np.eye(len(keys), dtype=bool)
    print(f"baselines: CKA with one space's rows shuffled {out['cka_shuffled'][off].mean():.3f} (mean of pairs); "
          f"mutual k-NN of random neighbours {out['knn_chance']:.3f}")
    return 0
