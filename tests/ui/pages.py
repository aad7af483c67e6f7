"""Opening a page of the real app (router, sidebar, navigation) under AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str = "app.py", timeout: float | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=scaled(120) if timeout is None else timeout)
    if page != "app.py":
        at.run()  # pages with their own url_path are found only once st.navigation has registered them
        at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    return at
