import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # window_helpers.py


def pytest_configure(config):
    config.addinivalue_line("markers", "memory: long streaming memory test (select with -m memory)")
