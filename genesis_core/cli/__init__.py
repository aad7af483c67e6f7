"""`genesis ...` (or `python -m genesis_core`): commands.py builds the parser and holds the core commands (train,
config, jobs, runs); each lab's command group is a module of its own (images, lm, tabular, releases, sweeps, jobs,
serve) registered in COMMANDS; output.py is what they all print with."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """The `genesis` command (the console script's entry point)."""
    from genesis_core.cli.commands import main as run

    return run(argv)
