"""Waiting in tests for what a real process does in its own time."""

from __future__ import annotations

import time


def wait_for(check, timeout: float = 90.0, what: str = "a condition", every: float = 0.2):
    """Call ``check()`` until it returns something true, and return that;
    AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
