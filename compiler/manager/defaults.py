"""The query manager's defaults, which `sqlc`'s argument parser shows (a
module of its own: building the parser must not import the manager)."""

MAX_RESTARTS = 3
BACKOFF_S = 1.0
DEFAULT_PORT = 8765  # of `sqlc serve`'s API (compiler/manager/http.py)
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
