"""Plugins through entry points, for real: a small package's wheel is installed by pip (into a folder put on
the path, as a virtual environment's site-packages is), then `genesis plugins list` shows it with its package
and version, a broken entry point beside it is listed with its error without breaking the rest, and a synthesis
with the plugin's generator runs as a background job (the worker, another process, finds it too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.timeouts import scaled

PLUGIN = '''
"""A generator from outside the workbench: each column drawn from its own empirical distribution."""
import json

import numpy as np
import pandas as pd

from genesis_core.tabular.single_table.base import TabularGenerator


class IndependentMarginals(TabularGenerator):
    name = "marginals"

    def _fit(self, frame, progress):
        self.frame = frame.reset_index(drop=True)
        progress(1, 1, "marginals kept")

    def _sample(self, rows, conditions, seed):
        rng = np.random.default_rng(seed)
        out = pd.DataFrame({c: self.frame[c].to_numpy()[rng.integers(0, len(self.frame), rows)]
                            for c in self.frame.columns})
        for column, value in conditions.items():
            out[column] = value
        return out

    def _save(self, folder):
        self.frame.to_csv(folder / "marginals.csv", index=False)
        return {"columns": list(self.frame.columns)}

    def _load(self, folder, meta):
        self.frame = pd.read_csv(folder / "marginals.csv")
'''


ENTRY_POINTS = """[genesis_core.generators]
marginals = genesis_demo_plugin:IndependentMarginals
broken = genesis_demo_plugin.missing:Nope
"""


def build_wheel(folder: Path) -> Path:
    """The plugin as a wheel (a zip of the package and its dist-info, as a build backend writes it; built here
    because no build backend is installed offline)."""
    import base64
    import hashlib
    import zipfile

    info = "genesis_demo_plugin-0.3.1.dist-info"
    files = {"genesis_demo_plugin/__init__.py": PLUGIN,
             f"{info}/METADATA": "Metadata-Version: 2.1\nName: genesis-demo-plugin\nVersion: 0.3.1\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             f"{info}/entry_points.txt": ENTRY_POINTS}
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    wheel = folder / "genesis_demo_plugin-0.3.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return wheel


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    wheel = build_wheel(tmp_path_factory.mktemp("plugin-wheel"))
    site = tmp_path_factory.mktemp("plugin-site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=scaled(300))
    assert done.returncode == 0, done.stderr
    assert (site / "genesis_demo_plugin-0.3.1.dist-info" / "entry_points.txt").is_file()  # pip installed it
    return site


def genesis(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "genesis_core", *args], capture_output=True, text=True, env=env,
                          timeout=scaled(300))


def test_an_installed_plugin_is_listed_and_a_broken_one_beside_it(workspace, plugin_site):
    listed = genesis(plugin_site, "plugins", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["marginals"] | {"error": ""} == {
        "registry": "generator", "name": "marginals", "group": "genesis_core.generators",
        "value": "genesis_demo_plugin:IndependentMarginals", "package": "genesis-demo-plugin", "version": "0.3.1",
        "status": "loaded", "error": ""}
    assert rows["broken"]["status"] == "failed" and "genesis_demo_plugin.missing" in rows["broken"]["error"]
    text = genesis(plugin_site, "plugins", "list").stdout
    assert "marginals" in text and "0.3.1" in text and "failed: " in text
    assert "no plugins installed" in genesis(Path("/nonexistent"), "plugins", "list").stdout


def test_a_plugin_generator_runs_as_a_job_in_a_worker(workspace, plugin_site):
    done = genesis(plugin_site, "train", "--task", "tabular_synthesis", "--set", "source=demo:penguins",
                   "--set", "generator=marginals", "--set", "rows=60", "--set", "report=false")
    assert done.returncode == 0, done.stderr
    run = workspace.list_runs()[0]
    synth = pd.read_csv(run.artifacts_dir / "synthetic.csv")
    assert len(synth) == 60 and set(synth["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert json.loads((run.artifacts_dir / "report.json").read_text())["meta"]["generator"] == "marginals"
    unknown = genesis(Path("/nonexistent"), "generate", "-i", "demo:penguins", "-o", str(workspace.root / "x.csv"),
                      "-m", "marginals")
    assert unknown.returncode == 2 and "generator 'marginals' is unknown" in unknown.stderr  # not installed here
