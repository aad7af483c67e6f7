"""Auxiliary pair tasks and the sub-morphemic evaluation of the byte Llama, side by side, several seeds.

For each seed, the same model, data and schedule train twice: plain causal LM, and with the three pair tasks
(coherence, reference, paraphrase; weight --pair-weight each). Printed per seed and as median [min, max]:
  - held-out bits per byte of both (does the auxiliary loss cost or help the bytes?);
  - each pair task's held-out ROC AUC (chance 0.5), beside a surface baseline: logistic regression on features
    that need no model (length difference of A and B, share of B's byte 4-grams found in A);
  - the suffix gain of `lm morphemes` (control bits - suffix bits on novel stem + suffix pseudo-words) of the
    plain model, of the untrained network and of a byte trigram on the same text.

    .venv/bin/python bench/lm_aux_tasks.py [--seeds 3] [--steps 800] [--languages en,de,ru] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def config(args, seed: int, pairs: bool) -> dict:
    return {"task": "language_model", "name": f"{'pairs' if pairs else 'plain'} {seed}",
            "data": {"languages": args.languages.split(","), "batch_size": 16, "eval_bytes": 16384,
                     "pair_tasks": ({"coherence": args.pair_weight, "reference": args.pair_weight,
                                     "paraphrase": args.pair_weight, "segment_bytes": 48, "span_bytes": 16,
                                     "eval_pairs": 512} if pairs else {})},
            "model": {"n_layer": 4, "d_model": 128, "n_head": 4, "n_kv_head": 2, "context": 128},
            "stun": {"enabled": False},
            "trainer": {"steps": args.steps, "lr": 3e-3, "warmup_steps": 50, "eval_every": args.steps,
                        "checkpoint_every": args.steps, "preview_every": 0, "log_every": 20, "seed": seed,
                        "device": args.device, "tracker": "none"}}


def surface_auc(task, seed: int) -> dict[str, float]:
    """ROC AUC of a logistic regression on model-free features, fitted on the task's train pairs and scored on its
    held-out pairs."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from genesis_core.lm.bytes import EOS, PAD
    from genesis_core.lm.pair_tasks import build_pairs

    def features(x):
        out = []
        for row in x:
            row = [int(t) for t in row if t != PAD]
            sep = row.index(EOS)
            a, b = bytes(row[:sep]), bytes(row[sep + 1:])
            grams = {b[i:i + 4] for i in range(len(b) - 3)}
            out.append([len(b) - len(a), abs(len(b) - len(a)),
                        np.mean([g in a for g in grams]) if grams else 0.0])
        return np.array(out)

    cfg = task.config.data.pair_tasks
    result = {}
    for i, name in enumerate(cfg.enabled):
        train = build_pairs(name, [t.train for t in task.texts.values()], 2048, cfg, seed * 7919 + i)
        held = build_pairs(name, [t.held_out for t in task.texts.values()], cfg.eval_pairs, cfg, 10_007 + i)
        clf = LogisticRegression(max_iter=1000).fit(features(train[0]), train[1])
        result[name] = float(roc_auc_score(held[1], clf.predict_proba(features(held[0]))[:, 1]))
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--languages", default="en,de,ru")
    p.add_argument("--pair-weight", type=float, default=0.3)
    p.add_argument("--stems", type=int, default=40)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    import torch

    from genesis_core.lm.morphemes import evaluate, morpheme_eval, summary
    from genesis_core.registry import TASKS, task_config
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.trainer import Trainer

    ws = Workspace(Path(tempfile.mkdtemp(prefix="bench-aux-")))
    rows = []
    for seed in range(args.seeds):
        row: dict = {"seed": seed}
        for pairs in (False, True):  # interleaved: plain then with pairs, per seed
            cfg = task_config(config(args, seed, pairs))
            task = TASKS.get("language_model")(cfg, torch.device(args.device))
            run = ws.create_run("language_model", config(args, seed, pairs))
            t0 = time.perf_counter()
            result = Trainer(task, run).fit()
            tag = "pairs" if pairs else "plain"
            row[f"bpb_{tag}"] = result.eval_metrics["eval/bpb"]
            row[f"s_{tag}"] = round(time.perf_counter() - t0, 1)
            if pairs:
                surface = surface_auc(task, seed)
                for name in ("coherence", "reference", "paraphrase"):
                    row[f"auc_{name}"] = result.eval_metrics[f"eval/pair/{name}_auc"]
                    row[f"surface_{name}"] = surface[name]
            else:
                table, _ = morpheme_eval(run.id, ws, n_stems=args.stems)
                s = summary(table)
                row["suffix_gain"] = float((s["gain_bits"] * s["items"]).sum() / s["items"].sum())
                row["trigram_gain"] = float((s["trigram_gain_bits"] * s["items"]).sum() / s["items"].sum())
                torch.manual_seed(seed)
                untrained = TASKS.get("language_model")(cfg, torch.device(args.device))
                s0 = summary(evaluate(untrained.build_model().eval(), untrained.texts, torch.device(args.device),
                                      cfg.model.context, args.stems, 0))
                row["untrained_gain"] = float((s0["gain_bits"] * s0["items"]).sum() / s0["items"].sum())
        rows.append(row)
        print(row, flush=True)
    keys = [k for k in rows[0] if k != "seed"]
    spread = {"seed": "median [min, max]"}
    for k in keys:
        vals = [r[k] for r in rows]
        spread[k] = f"{statistics.median(vals):.3f} [{min(vals):.3f}, {max(vals):.3f}]"
    report("lm_aux_tasks", rows + [spread], {"args": vars(args)})


if __name__ == "__main__":
    main()
