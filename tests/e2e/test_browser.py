"""A real browser (Debian's chromium, driven by Playwright) opens the app, starts a job from the Home
page, watches it live on the Jobs page and cancels it; and the labs' pages as a new user meets them."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests.timeouts import scaled

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="Debian's chromium is not installed (./workbench test installs it)")]


def choose(page, selectbox, name, timeout_ms: int = 90_000) -> None:
    """Pick `name` in a Streamlit selectbox. A click that lands while the page is still redrawing opens nothing,
    so the box is opened again until its option shows (one scaled deadline, no fixed wait)."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + scaled(timeout_ms) / 1000
    option = page.get_by_role("option", name=name)
    while True:
        selectbox.get_by_role("combobox").click()
        try:
            option.first.click(timeout=min(scaled(5_000), max(1, (deadline - time.monotonic()) * 1000)))
            return
        except Error:
            if time.monotonic() > deadline:
                raise
            page.keyboard.press("Escape")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page():
    """A page of Debian's chromium, driven by Playwright."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=scaled(10_000))  # no fixed few-second wait for UI state: one factor for all
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1100})
        tab.set_default_timeout(scaled(30_000))
        yield tab
        browser.close()


@pytest.fixture
def server(workspace):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + scaled(60)
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the app did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=scaled(10))
    except subprocess.TimeoutExpired:
        proc.kill()


def test_start_a_job_from_the_ui_watch_it_live_and_cancel_it(server, workspace, page):
    """The defaults' whole training takes minutes on 2 cores (what it reaches: bench/ae_vs_pca.py); the page is
    watched until its live view has moved on twice, then the job is cancelled from the page."""
    from playwright.sync_api import expect

    from genesis_core.vision.tasks.autoencoders import ImageAutoencoderConfig

    # a deep link opens the page inside the app's frame (router, sidebar), not on its own
    page.goto(server + "/runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=scaled(60_000))
    expect(page.get_by_text("Active jobs")).to_be_visible(timeout=scaled(30_000))
    expect(page.get_by_text("Device: cpu")).to_be_visible(timeout=scaled(60_000))  # looked up in a thread
    page.goto(server)
    expect(page.get_by_role("heading", name="Genesis Workbench")).to_be_visible(timeout=scaled(60_000))
    page.get_by_role("button", name="Train a digits autoencoder on the defaults").click()
    expect(page.get_by_text("Started job")).to_be_visible(timeout=scaled(60_000))
    page.get_by_text("Watch it on the Jobs page").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=scaled(30_000))
    # the live fragment refreshes every 2 s: the step it shows moves on without a reload
    total = ImageAutoencoderConfig().trainer.steps
    progress = page.get_by_text(re.compile(rf"^step [1-9]\d* of {total} · ETA"))
    expect(progress).to_be_visible(timeout=scaled(120_000))
    first = progress.inner_text()
    expect(progress).not_to_have_text(first, timeout=scaled(60_000))
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("■ digits autoencoder (defaults)")).to_be_visible(timeout=scaled(60_000))
    page.screenshot(path=str(workspace.root / "jobs-page.png"), full_page=True)
    from genesis_core.jobs import api
    (job,) = api.list_jobs(workspace)
    assert job.status == "cancelled" and 0 < job.step < total
    assert workspace.get_run(job.run_id).latest_checkpoint() is not None  # a cancel checkpoints before it stops


def test_latent_explorer_decodes_sliders_and_projects_in_a_real_browser(server, workspace, page):
    from playwright.sync_api import expect

    from tests.vision.helpers import config, train

    run, _ = train(workspace, config(steps=60, name="browser ae", model={"latent_dim": 3, "channels": 8}))
    page.goto(f"{server}/latent?model={run.id}")
    expect(page.get_by_role("heading", name="Latent explorer")).to_be_visible(timeout=scaled(60_000))
    expect(page.get_by_text("Decoded from the sliders")).to_be_visible(timeout=scaled(60_000))
    decoded = page.locator('[data-testid="stImage"]').filter(has_text="Decoded from the sliders").locator("img")
    before = decoded.get_attribute("src")
    slider = page.get_by_role("slider", name="z[0]")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(decoded).not_to_have_attribute("src", before, timeout=scaled(30_000))  # the image follows the slider
    views = page.locator('[data-testid="stButtonGroup"]')  # views compute only when opened
    views.get_by_text("Projection", exact=True).click()
    expect(page.get_by_text("Trustworthiness (k = 10)")).to_be_visible(timeout=scaled(60_000))
    page.screenshot(path=str(workspace.root / "latent-explorer.png"), full_page=True)


def test_synthetic_data_upload_refuses_a_bad_csv_and_previews_a_good_one(server, workspace, page, tmp_path):
    from playwright.sync_api import expect

    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text("a,b,a\n1,2,3\n4,5,6\n")
    good.write_text("age;city;income\n" + "".join(f"{20 + i % 50};{'Bern' if i % 3 else 'Basel'};{1000 + 37 * i}\n"
                                                   for i in range(40)))
    page.goto(f"{server}/synthetic")
    expect(page.get_by_role("heading", name="Synthetic data")).to_be_visible(timeout=scaled(60_000))
    page.get_by_text("my CSV or Parquet").click()
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(str(bad))
    expect(page.get_by_text("the header names 'a' more than once; column names must be unique.")).to_be_visible(
        timeout=scaled(30_000))
    assert not list((workspace.root / "uploads").glob("bad*")) if (workspace.root / "uploads").exists() else True
    page.get_by_role("button", name="Remove bad.csv").click()
    expect(page.get_by_text("the header names 'a' more than once")).to_be_hidden(timeout=scaled(30_000))
    uploader.set_input_files(str(good))
    expect(page.get_by_text("40 rows × 3 columns · csv · delimiter ';'")).to_be_visible(timeout=scaled(30_000))
    expect(page.get_by_text("Schema", exact=True)).to_be_visible()
    page.screenshot(path=str(workspace.root / "synthetic.png"), full_page=True)


def test_audio_to_video_upload_refuses_corrupt_audio_and_renders_a_wav_with_sound(server, workspace, page, tmp_path):
    import wave as wavmod

    import numpy as np
    from playwright.sync_api import expect

    from genesis_core.av.music import generate_track

    track = generate_track(5, 4.0, 22050)
    good = tmp_path / "beat.wav"
    with wavmod.open(str(good), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        stereo = np.repeat(track.wave[:, None], 2, axis=1)
        w.writeframes((stereo * 32767).astype("<i2").tobytes())
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"ID3" + bytes(range(256)) * 20)
    page.goto(f"{server}/av")
    expect(page.get_by_role("heading", name="Audio → Video")).to_be_visible(timeout=scaled(60_000))
    page.get_by_text("my audio (wav, mp3, flac, ogg)").click()
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(str(bad))
    expect(page.get_by_text("the file is not audio we can decode")).to_be_visible(timeout=scaled(30_000))
    page.get_by_role("button", name="Remove broken.mp3").click()
    expect(page.get_by_text("the file is not audio we can decode")).to_be_hidden(timeout=scaled(30_000))
    uploader.set_input_files(str(good))
    page.get_by_role("button", name="Render", exact=True).click(timeout=scaled(60_000))
    expect(page.get_by_text("Rendered ", exact=False)).to_be_visible(timeout=scaled(90_000))
    video = page.locator(".st-key-av_rendered video")  # the render, not a gallery clip
    expect(video).to_be_visible(timeout=scaled(30_000))
    duration = video.evaluate("""async v => {
        if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, {once: true}));
        return v.duration; }""")
    assert abs(duration - 4.0) < 0.3  # the mp4 plays in the browser, as long as the audio
    page.screenshot(path=str(workspace.root / "av.png"), full_page=True)


def test_a_new_users_findings_progress_forward_pair_trends_explained_drift_refused(server, workspace, page, tmp_path):
    """What a new user met in Chromium: a synthesis with a text column whose progress went back (67 -> 40), a
    report whose missing pair-trend score was a bare dash, and a drift of two unrelated tables that 'drifted 14
    of 0'. The progress shown on the Jobs page only moves forward, the report says why pair trends are missing,
    and drift refuses tables with no common column in one sentence."""

    import numpy as np
    import pandas as pd
    from playwright.sync_api import expect

    from genesis_core.jobs import api

    rng = np.random.default_rng(0)
    words = "the a small quiet river ran past old stone mill where children played every summer afternoon".split()
    notes = [" ".join(rng.choice(words, rng.integers(6, 14))).capitalize() + "." for _ in range(150)]
    source = tmp_path / "notes.csv"
    pd.DataFrame({"x": rng.normal(size=150).round(3), "y": rng.normal(size=150).round(3), "note": notes}).to_csv(
        source, index=False)
    page.goto(f"{server}/jobs")  # open before the job starts: its whole run is watched, however slow the page
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=scaled(60_000))
    job = api.submit({"task": "tabular_synthesis", "source": str(source), "generator": "gaussian_copula",
                      "text_steps": 200, "text_size": "tiny", "name": "notes"}, workspace=workspace)
    shown, deadline = [], time.monotonic() + scaled(240)
    bar = page.get_by_text(re.compile(r"^step \d+ of 100"))
    while time.monotonic() < deadline and api.get(job.id, workspace).status in ("queued", "running"):
        if bar.count():
            try:
                shown.append(int(re.match(r"step (\d+)", bar.first.inner_text(timeout=1000)).group(1)))
            except Exception:  # the fragment redrew between the count and the read
                pass
        page.wait_for_timeout(150)
    assert api.get(job.id, workspace).status == "succeeded"
    assert len(shown) >= 3 and shown == sorted(shown), shown  # never backwards, as the user saw it
    page.goto(f"{server}/synthetic")
    expect(page.get_by_role("heading", name="Synthetic data")).to_be_visible(timeout=scaled(60_000))
    page.get_by_role("tab", name="Reports").click()
    expect(page.get_by_text(re.compile("Column pair trends: no pair of columns is associated"))).to_be_visible(
        timeout=scaled(60_000))
    page.goto(f"{server}/releases")
    expect(page.get_by_role("heading", name="Releases and drift")).to_be_visible(timeout=scaled(60_000))
    page.get_by_role("tab", name="Drift").click()
    expect(page.get_by_text("Choose the current table")).to_be_visible(timeout=scaled(30_000))
    choose(page, page.locator(".st-key-drift_cur_demo"), re.compile("[Ww]ine"))
    expect(page.get_by_text("the two tables share no column")).to_be_visible(timeout=scaled(60_000))
    expect(page.get_by_text("Columns drifted")).to_have_count(0)
    page.screenshot(path=str(workspace.root / "drift-refused.png"), full_page=True)


def test_runs_compare_in_chromium_bands_raw_lines_and_the_query_show_what_the_data_says(server, workspace, page):
    """Issue 37 in a real browser: six runs (two widths x three seeds) opened from a shared URL, grouped into bands,
    then each run's raw line and last value, then a query that keeps the wider runs."""

    from playwright.sync_api import expect

    from tests.store.test_compare import seeded_runs

    seeded_runs(workspace)
    page.goto(f"{server}/runs?all=1&m=eval/psnr_db&by=model.latent_dim")
    expect(page.get_by_role("heading", name="Comparing 6 runs")).to_be_visible(timeout=scaled(60_000))
    chart = page.locator(".st-key-cmp_fig .js-plotly-plot, [data-testid='stPlotlyChart'] .js-plotly-plot").first
    expect(page.get_by_text("model.latent_dim = 16 (3 runs)")).to_be_visible(timeout=scaled(30_000))
    traces = chart.evaluate("p => p._fullData.map(t => ({name: t.name, fill: t.fill || '', y: Array.from(t.y)}))")
    means = {t["name"]: t["y"] for t in traces if t["fill"] != "toself"}
    # seeds 0, 1, 2 of width 16 end at 10 + 16 + seed + 5: their mean 32, their band 31 .. 33
    assert means["model.latent_dim = 16 (3 runs)"][-1] == 32.0
    band = next(t["y"] for t in traces if t["fill"] == "toself" and "16" in t["name"])
    assert max(band) == 33.0 and min(band) == 10 + 16 + 0 + 0
    page.goto(f"{server}/runs?all=1&m=loss&by=none")
    expect(page.get_by_role("heading", name="Comparing 6 runs")).to_be_visible(timeout=scaled(60_000))
    expect(page.get_by_text(re.compile(r"^loss of 6 runs$"))).to_be_visible(timeout=scaled(30_000))
    traces = page.locator(".js-plotly-plot").first.evaluate(
        "p => p._fullData.map(t => ({name: t.name, y: Array.from(t.y)}))")  # decoded arrays
    raw = [t for t in traces if t["name"].endswith("(raw)")]
    (last,) = [t for t in traces if t["name"] == "last logged value"]
    assert len(raw) == 6  # 120 points each: smoothed, with the raw series drawn beneath
    assert last["y"] == [r["y"][-1] for r in raw]  # each run's last logged value, not the smoothed one
    box = page.get_by_role("textbox", name="Query")
    box.fill("eval/psnr_db > 30")
    box.press("Enter")
    expect(page.get_by_text("3 of the 6 selected runs match the query.")).to_be_visible(timeout=scaled(30_000))
    expect(page).to_have_url(re.compile(r"q=eval"), timeout=scaled(30_000))  # the view is in the URL
    page.screenshot(path=str(workspace.root / "runs-compare.png"), full_page=True)
    # the hyperparameters tab runs when opened: its parallel coordinates are drawn then, over the 3 runs left
    assert page.locator(".st-key-cmp_parallel").count() == 0
    page.get_by_role("tab", name="Hyperparameters and results").click()
    plot = page.locator(".st-key-cmp_parallel .js-plotly-plot")
    expect(plot).to_be_visible(timeout=scaled(30_000))
    page.wait_for_function("p => p._fullData && p._fullData.length", arg=plot.element_handle(),
                           timeout=scaled(30_000))
    dims = plot.evaluate("p => p._fullData[0].dimensions.map(d => ({label: d.label, n: d.values.length}))")
    # among the 3 wider runs only the seed differs (the width is the same): the seed's axis and a final metric's
    assert [d["label"] for d in dims][0] == "trainer.seed" and all(d["n"] == 3 for d in dims)
    expect(page).to_have_url(re.compile(r"cmp_view=Hyperparameters"), timeout=scaled(30_000))  # the tab too
