"""`python -m genesis_core lm ...`: the language-model lab in the terminal.

    python -m genesis_core lm eval RUN [--bytes 4096] [--margin 0.5]   # go/no-go (exit 0 go, 3 no-go)
    python -m genesis_core lm sample RUN --prompt "Der Sinn des Lebens"
    python -m genesis_core lm events RUN                                # stagnation, stuns, spikes, resumes
    python -m genesis_core lm morphemes RUN [--stems 40] [--by-suffix]  # bits per suffix on pseudo-words
    python -m genesis_core lm corpus                                    # the built-in languages and sizes

Train with `python -m genesis_core train --task language_model [--set trainer.auto_resume=3]`.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from genesis_core.errors import CLIError
from genesis_core.cli.actions import add_actions
from genesis_core.registry import COMMANDS


@COMMANDS.register("lm")
def add_lm_commands(sub) -> None:
    p = sub.add_parser("lm", help="language models: go/no-go evaluation, samples, loss events, corpus",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        "run_id": ((), {"nargs": "?", "metavar": "RUN", "help": "the language-model run"}),
        "bytes": (("--bytes",), {"type": int, "default": 4096, "help": "held-out bytes per language"}),
        "margin": (("--margin",), {"type": float, "default": 0.0,
                                   "help": "bits per byte below the unigram model needed for GO"}),
        "prompt": (("--prompt",), {"default": "", "help": "text to continue"}),
        "length": (("--length",), {"type": int, "default": 200, "help": "bytes to generate"}),
        "stems": (("--stems",), {"type": int, "default": 40, "help": "known stems per language"}),
        "by_suffix": (("--by-suffix",), {"action": "store_true", "help": "one line per suffix, not per language"}),
    }
    add_actions(p, {
        "eval": ("go/no-go: held-out bits per byte against a unigram model (exit 0 go, 3 no-go)",
                 ["run_id", "bytes", "margin"]),
        "sample": ("continue a prompt with a causal model", ["run_id", "prompt", "length"]),
        "events": ("the run's events: stagnation, stuns, spikes, resumes", ["run_id"]),
        "morphemes": ("sub-morphemic evaluation: bits per suffix on novel stem + suffix pseudo-words, against "
                      "controls and a byte-trigram baseline", ["run_id", "stems", "by_suffix"]),
        "corpus": ("the built-in languages and their sizes", []),
    }, options, late_positionals=("run_id",))
    p.set_defaults(func=cmd_lm)


def cmd_lm(args: argparse.Namespace) -> int:
    from genesis_core.lm.corpus import BUILTIN_SOURCES, LANGUAGE_NAMES, CorpusError, builtin_language
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    if args.action == "corpus":
        for lang in BUILTIN_SOURCES:
            try:
                t = builtin_language(lang)
                print(f"{lang}  {LANGUAGE_NAMES[lang]:<8} train {len(t.train.encode()):>9,} bytes  held-out "
                      f"{len(t.held_out.encode()):>7,} bytes")
            except CorpusError as exc:
                print(f"{lang}  {LANGUAGE_NAMES[lang]:<8} missing: {exc}")
        return 0
    if not args.run_id:
        raise CLIError("give a language-model run id")
    try:
        if args.action == "eval":
            from genesis_core.lm.evaluation import quick_eval

            r = quick_eval(args.run_id, ws, eval_bytes=args.bytes, margin_bits=args.margin)
            print(f"step {r.step}: bits per byte on held-out text")
            print(r.table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            print(("GO: " if r.go else "NO-GO: ") + r.reason)
            return 0 if r.go else 3
        if args.action == "sample":
            import torch

            from genesis_core.lm.bytes import decode, encode
            from genesis_core.lm.model import LlamaModel
            from genesis_core.training.loading import load_model

            loaded = load_model(args.run_id, ws)
            if loaded.config.objective != "causal":
                raise CLIError("sampling needs a causal model; this one is a masked LM")
            prompt = torch.from_numpy(encode(args.prompt or "\n"))[None]
            model = cast(LlamaModel, loaded.model)
            out = model.generate(prompt, args.length, generator=torch.Generator().manual_seed(0))
            print(decode(out[0].tolist()))
            return 0
        if args.action == "morphemes":
            from genesis_core.lm.morphemes import morpheme_eval, summary

            table, step = morpheme_eval(args.run_id, ws, n_stems=args.stems)
            if table.empty:
                raise CLIError("none of this run's languages has a suffix list (en, de, es, it, pl, cs, ru, zh)")
            print(f"step {step}: bits of suffix + word end after a known stem it never follows in training; "
                  "gain = control bits - suffix bits (> 0: the model expects the real suffix)")
            shown = table if args.by_suffix else summary(table)
            print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            return 0
        if args.action == "events":
            from genesis_core.store.metrics import MetricsReader

            events = MetricsReader(ws.get_run(args.run_id).metrics_path).events()
            for e in events.itertuples():
                print(f"step {e.step:>7}  {e.kind:<12} {e.message}")
            return 0
    except (CorpusError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    return 2
