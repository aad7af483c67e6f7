"""The README's commands as written: every `.venv/bin/genesis ...` line parses (placeholders such as RUN or COL
filled in), and the cheap ones run, from a folder outside the repository, with the installed command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[1]
GENESIS = Path(sys.executable).parent / "genesis"
PLACEHOLDERS = {"RUN_ID": "run-x", "JOB_ID": "job-x", "SWEEP_ID": "sweep-x", "RUN": "run-x", "MODEL": "model-x",
                "COLS": "a,b", "COL": "a", "TAG": "keep", "A": "model-a", "B": "model-b"}
# runs in seconds on 2 cores: what a new user types first
CHEAP = ("config", "lm corpus", "images models", "jobs list", "runs list", "sweep list", "ray status",
         "generate -i data.csv -o synth.csv -m gaussian_copula --no-report")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        out += [line.strip() for line in joined.splitlines() if line.strip().startswith(".venv/bin/genesis ")]
    return out


def argv_of(line: str) -> list[str]:
    line = line.split(" #", 1)[0]
    words = shlex.split(line.split(" > ", 1)[0])[1:]
    return [PLACEHOLDERS.get(w, w) for w in words]


def test_the_readme_shows_genesis_commands():
    commands = readme_commands()
    assert len(commands) > 30 and not any("python -m genesis_core" in c for c in commands)


@pytest.mark.parametrize("line", readme_commands())
def test_every_readme_command_parses(line):
    from genesis_core.cli.commands import parse

    parse(argv_of(line))  # argparse exits (SystemExit) on anything it does not know


@pytest.mark.parametrize("line", [c for c in readme_commands() if " ".join(argv_of(c)).startswith(CHEAP)])
def test_the_cheap_readme_commands_run_as_written(line, tmp_path):
    from genesis_core.tabular.data.demos import load_demo

    assert GENESIS.exists(), "genesis_core is not installed in this environment (./workbench installs it)"
    load_demo("penguins").to_csv(tmp_path / "data.csv", index=False)
    env = {**os.environ, "GENESIS_HOME": str(tmp_path / "ws"), "PYTHONPATH": ""}
    command = line.replace(".venv/bin/genesis", shlex.quote(str(GENESIS)), 1)
    out = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=scaled(300))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
