"""The one `server` fixture of the service tests: a real uvicorn server in a subprocess, on its own workspace."""

import pytest

from tests.service.test_service import Server


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "ws").start()
    yield s
    s.stop()
