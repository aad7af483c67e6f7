"""Cold start of the app, as a user meets it: a fresh `streamlit run app.py` (nothing imported yet) and a
real browser (Debian's chromium) opening a page; seconds from the request to the page's heading painted,
for the Home page and for a deep link, each on its own fresh server. Repeated, median reported.

    .venv/bin/python bench/cold_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"home": ("/", "Genesis Workbench"), "jobs (deep link)": ("/jobs", "Jobs"),
         "synthetic data (deep link)": ("/synthetic", "Synthetic data")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one(path: str, heading: str, home: str) -> float:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env={**os.environ, "GENESIS_HOME": home},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        while True:  # the server answers before any page script has run
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(url + path)
            expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=120_000)
            seconds = time.perf_counter() - t0
            browser.close()
        return seconds
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as home:
        for name, (path, heading) in PAGES.items():
            times = [one(path, heading, home) for _ in range(args.repeats)]
            rows.append({"page": name, "first_paint_s_median": round(statistics.median(times), 2),
                         "runs": [round(t, 2) for t in times]})
            print(rows[-1], flush=True)
    report("cold_start", rows)


if __name__ == "__main__":
    main()
