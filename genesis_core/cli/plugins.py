"""`genesis plugins list`: what installed packages add to the workbench through entry points.

    genesis plugins list            # every plugin: registry, name, package, version, loaded or its error
    genesis plugins list --json     # the same as JSON

A package adds a generator (or a task, model, dataset, tracker, job backend, command) by declaring an entry point
in the registry's group, e.g. in its pyproject.toml:

    [project.entry-points."genesis_core.generators"]
    my_copula = "my_package.generators:MyCopula"

It is then available by name to the CLI, the pages, the HTTP API and every job worker. A plugin that fails to
import is listed with its error; the rest work as before.
"""

from __future__ import annotations

import argparse
import json

from genesis_core.registry import COMMANDS


@COMMANDS.register("plugins")
def add_plugin_commands(sub) -> None:
    p = sub.add_parser("plugins", help="plugins of installed packages (entry points): each with its package, "
                                       "version and status", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True)
    ls = actions.add_parser("list", help="every plugin: registry, name, package, version, loaded or its error",
                            description="Every plugin: registry, name, package, version, loaded or its error.")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_plugins_list)


def cmd_plugins_list(args: argparse.Namespace) -> int:
    from genesis_core.cli.output import table
    from genesis_core.registry import GROUPS, REGISTRIES

    rows = [{"registry": r.kind, **e} for r in REGISTRIES for e in r.external()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no plugins installed (packages add them through the entry-point groups "
              + ", ".join(sorted(set(GROUPS.values()))) + ")")
        return 0
    print(table([[r["registry"], r["name"], r["package"], r["version"], r["status"] if not r["error"] else
                  f"failed: {r['error']}"] for r in rows], ["registry", "name", "package", "version", "status"]))
    return 0
