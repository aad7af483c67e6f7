"""Opening a page of the real app (router, sidebar, navigation) under AppTest."""

import functools
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[2]

# Each new AppTest scans every installed package's metadata for Streamlit components (about 1.2 s on 2 cores, some
# 45 times a suite); the installed packages do not change while the tests run, so the scan runs once per process.
manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


def open_page(page: str = "app.py", timeout: float | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=scaled(120) if timeout is None else timeout)
    if page != "app.py":
        at.run()  # pages with their own url_path are found only once st.navigation has registered them
        at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    return at
