"""sqlc: streaming SQL to Python pipelines (compile time only)."""

__version__ = "0.1.0"
