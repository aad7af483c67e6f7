"""The Runs page comparing 100 runs of 10,000 logged points each, timed in a real browser (issue 37): Debian's
chromium, driven by Playwright, against the app served by `streamlit run` on 127.0.0.1.

Four views are timed, each from the user's action to the moment the page shows its answer (the figure drawn and
Streamlit's script finished):
- opening the comparison: on the Runs page (one run's details showing, the app open in the tab), a click on
  "Compare every listed run" until the loss panel of 100 runs is drawn;
- a cold tab: the shared URL `/runs?all=1&m=loss` opened in a new tab, which first loads the app and Plotly's
  JavaScript; the same URL over 2 runs (a query) is timed beside it, the part that does not depend on the runs;
- a change of grouping: choosing `model.latent_dim` in "Group by" until the five groups' bands are drawn;
- opening the "Hyperparameters and results" tab (its content runs only when opened) until the parallel
  coordinates are drawn;
- a parallel-coordinates brush: a drag along the first axis until Plotly has applied the brushed range and
  repainted (two animation frames after the drag ends).
Each is repeated `--repeats` times (a fresh tab for the first paint); the median and range are reported.
The runs are the ones bench/runs_compare.py writes (5 latent sizes x 2 learning rates x 10 seeds).

    .venv/bin/python bench/runs_browser.py [--runs 100] [--points 10000] [--repeats 3]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402
from bench.runs_compare import make_runs  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SETTLE_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GENESIS_HOME": home}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the app did not start")


def idle(page, timeout_ms: int = 120_000) -> None:
    """Until Streamlit's script has finished (its running indicator gone) and the browser has painted."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)
    page.evaluate(SETTLE_JS)


def traces_drawn(page, selector: str, at_least: int, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(
        "([sel, n]) => { const p = document.querySelector(sel); return p && p._fullData && p._fullData.length >= n "
        "&& p.querySelector('.main-svg'); }", arg=[selector, at_least], timeout=timeout_ms)


def loss_panel_drawn(page, runs: int) -> None:
    """Until the loss panel of `runs` runs shows its title, has drawn every run (the last logged values: a marker
    per run, the trace added after the runs' lines), and the script has ended."""
    page.get_by_text(f"loss of {runs} runs", exact=True).wait_for(timeout=120_000)
    page.wait_for_function(
        "([sel, n]) => { const p = document.querySelector(sel); return p && p._fullData && p.querySelector('.main-svg') "
        "&& p._fullData.some(t => t.name === 'last logged value' && t.x && t.x.length >= n); }",
        arg=[".st-key-cmp_fig .js-plotly-plot", runs], timeout=120_000)
    idle(page)


def open_comparison(browser, url: str, runs: int) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{url}/runs?m=loss")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)  # one run's curves
    idle(page)
    t0 = time.perf_counter()
    page.get_by_text("Compare every listed run (the first", exact=False).click()
    loss_panel_drawn(page, runs)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


QUERY_2_RUNS = "q=trainer.seed%20%3D%200%20and%20model.latent_dim%20%3D%204"


def cold_tab(browser, url: str, runs: int, query: str = "") -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    t0 = time.perf_counter()
    page.goto(f"{url}/runs?all=1&m=loss&by=none" + (f"&{query}" if query else ""))
    loss_panel_drawn(page, runs)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


def regroup(browser, url: str, runs: int) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{url}/runs?all=1&m=loss&by=none")
    page.get_by_text(f"loss of {runs} runs", exact=True).wait_for(timeout=120_000)
    idle(page)
    box = page.locator(".st-key-cmp_by")
    box.get_by_role("combobox").click()
    option = page.get_by_role("option", name="model.latent_dim")
    option.wait_for(timeout=30_000)
    t0 = time.perf_counter()
    option.click()
    page.get_by_text(f"model.latent_dim = 16 ({runs // 5} runs)").first.wait_for(timeout=120_000)
    idle(page)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


def open_parameters(page) -> float:
    """A click on the comparison's "Hyperparameters and results" tab until its parallel coordinates are drawn
    (the tabs run lazily: nothing of this tab is computed or sent before)."""
    t0 = time.perf_counter()
    page.get_by_role("tab", name="Hyperparameters and results").click()
    plot = page.locator(".st-key-cmp_parallel .js-plotly-plot")
    plot.wait_for(timeout=120_000)
    traces_drawn(page, ".st-key-cmp_parallel .js-plotly-plot", 1)
    idle(page)
    return time.perf_counter() - t0


def brush(browser, url: str, tab_times: list[float]) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{url}/runs?all=1&m=loss&by=none")
    page.get_by_text("loss of", exact=False).first.wait_for(timeout=120_000)
    idle(page)
    tab_times.append(open_parameters(page))
    plot = page.locator(".st-key-cmp_parallel .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    axis = plot.locator(".axis-brush").first  # the first axis's brush area
    box = axis.bounding_box()
    x, top, height = box["x"] + box["width"] / 2, box["y"], box["height"]
    t0 = time.perf_counter()
    page.mouse.move(x, top + 0.2 * height)
    page.mouse.down()
    page.mouse.move(x, top + 0.6 * height, steps=4)
    page.mouse.up()
    page.wait_for_function("p => (p._fullData[0].dimensions || []).some(d => d.constraintrange)",
                           arg=plot.element_handle(), timeout=30_000)
    page.evaluate(SETTLE_JS)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit("this bench needs Debian's chromium (/usr/bin/chromium): ./workbench test installs it")
    home = tempfile.mkdtemp(prefix="genesis-bench-browser-")
    os.environ["GENESIS_HOME"] = home
    from playwright.sync_api import sync_playwright

    from genesis_core.store.workspace import Workspace

    t0 = time.perf_counter()
    make_runs(Workspace(home), args.runs, args.points)
    write_s = time.perf_counter() - t0
    proc, url = start_app(home)
    opening, cold = f"opening the comparison of {args.runs} runs", f"a cold tab, shared URL, {args.runs} runs"
    params = "opening the Hyperparameters tab"
    times: dict[str, list[float]] = {opening: [], "a change of grouping": [], params: [],
                                     "a parallel-coordinates brush": [], cold: [], "a cold tab, shared URL, 2 runs": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            cold_tab(browser, url, args.runs)  # the server's first script run imports the page's modules
            for _ in range(args.repeats):
                times[opening].append(open_comparison(browser, url, args.runs))
                times["a change of grouping"].append(regroup(browser, url, args.runs))
                times["a parallel-coordinates brush"].append(brush(browser, url, times[params]))
                times[cold].append(cold_tab(browser, url, args.runs))
                times["a cold tab, shared URL, 2 runs"].append(cold_tab(browser, url, 2, QUERY_2_RUNS))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows = [{"view": view, "median s": statistics.median(s), "min s": min(s), "max s": max(s),
             "under 2 s": all(v < 2 for v in s)} for view, s in times.items()]
    report("runs_browser", rows, {"runs": args.runs, "points_per_run": args.points, "repeats": args.repeats,
                                  "write_s": write_s, "cores": os.cpu_count()})


if __name__ == "__main__":
    main()
