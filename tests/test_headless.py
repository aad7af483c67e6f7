"""genesis_core never imports streamlit, and `import genesis_core` is light."""

import subprocess
import sys
from tests.timeouts import scaled


def test_core_imports_without_streamlit():
    code = ("import sys, genesis_core, genesis_core.jobs.api, genesis_core.training.trainer, genesis_core.cli.commands;"
            "from genesis_core.registry import load_plugins; load_plugins();"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=scaled(120))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_package_import_does_not_load_torch():
    out = subprocess.run([sys.executable, "-c", "import sys, genesis_core; print('torch' in sys.modules)"],
                         capture_output=True, text=True, timeout=scaled(60))
    assert out.stdout.strip() == "False"


def test_log_axis_ticks_are_written_whole():
    from genesis_core.formatting import log_ticks

    ticks = log_ticks([340, 1711, 3440])
    assert "2,000" in ticks["ticktext"] and "1,000" in ticks["ticktext"] and len(ticks["tickvals"]) == len(
        ticks["ticktext"])
    assert min(ticks["tickvals"]) <= 340 and max(ticks["tickvals"]) >= 3440 / 2.5
    assert log_ticks([None, float("nan"), 0]) == {}
