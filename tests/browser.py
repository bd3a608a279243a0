"""A real headless Chromium for tests, driven over the DevTools protocol
(websocket-client): Debian's ``chromium`` package, started with a fresh
profile and every flag that keeps it off the network.

When chromium is not installed the test skips, unless ``SQLC_REQUIRE_BROWSER=1``
(CI, ``.ci/run``, installs it), which makes a missing browser a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.polling import wait_for

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("SQLC_REQUIRE_BROWSER") == "1":
        pytest.fail("SQLC_REQUIRE_BROWSER=1 but there is no chromium on PATH "
                    "(apt-get install chromium)")
    pytest.skip("no chromium on PATH (apt-get install chromium; SQLC_REQUIRE_BROWSER=1 "
                "makes this a failure)")


class Browser:
    """One page of a headless Chromium: ``go(url)``, ``js(expression)``."""

    def __init__(self, binary: str) -> None:
        import websocket

        self._profile = tempfile.TemporaryDirectory(prefix="sqlc-chromium-")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = Path(self._profile.name) / "DevToolsActivePort"
        wait_for(lambda: active.exists() and active.read_text().strip(), timeout=60,
                 what="chromium's DevTools port")
        port = int(active.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
        self._ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30,
                                               suppress_origin=True)
        self._id = 0

    def call(self, method: str, **params) -> dict:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:  # events (no subscription asked for) and answers, until ours
            message = json.loads(self._ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def go(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        wait_for(lambda: self.js("document.readyState") == "complete", what=f"{url} loaded")

    def js(self, expression: str):
        """The value of ``expression`` in the page (awaited when a promise)."""
        found = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True)
        if "exceptionDetails" in found:
            raise RuntimeError(f"{expression}: {found['exceptionDetails']}")
        return found["result"].get("value")

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            time.sleep(0.1)
            self._profile.cleanup()
