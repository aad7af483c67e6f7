"""Actions as subcommands, each with its own help: `genesis images interpolate --help` lists only what
interpolate reads. A lab's CLI declares its options once and says which action takes which."""

from __future__ import annotations

import argparse
from typing import Any


def add_actions(parser: argparse.ArgumentParser, actions: dict[str, tuple[str, list[str]]],
                options: dict[str, tuple[tuple[str, ...], dict[str, Any]]],
                late_positionals: tuple[str, ...] = ()) -> None:
    """`actions`: name -> (what it does, the options it takes, by label). `options`: label -> (flags, argparse
    keywords; `dest` when the label is not the attribute; no flags: a positional). Every attribute gets a default
    on the namespace, so the command's function reads any of them whatever the action. `late_positionals`:
    optional positionals that may also come after flags (`images bottleneck --target 20 RUN`)."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    defaults: dict[str, Any] = {}
    for label, (flags, kw) in options.items():
        defaults[kw.get("dest", label)] = kw.get("default", False if kw.get("action") == "store_true" else None)
    for name, (text, takes) in actions.items():
        a = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        for label in takes:
            flags, kw = options[label]
            rest = {k: v for k, v in kw.items() if k != "dest"}
            if flags:
                a.add_argument(*flags, dest=kw.get("dest", label), **rest)
            else:  # a positional: its name is where argparse puts it
                a.add_argument(kw.get("dest", label), **rest)
        late = tuple(options[label][1].get("dest", label) for label in takes
                     if label in late_positionals and not options[label][0])
        if late:
            a.set_defaults(late_positionals=late)
    parser.set_defaults(**defaults)
