"""The type checker runs on genesis_core as part of the suite, and finds nothing (issue 35)."""

import subprocess
import sys
from pathlib import Path

from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_genesis_core():
    """pyproject.toml's [tool.mypy] settings; its cache (.mypy_cache, ignored by git) makes a second run quick."""
    proc = subprocess.run([sys.executable, "-m", "mypy", "genesis_core"], cwd=ROOT, capture_output=True, text=True,
                          timeout=scaled(600))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout
