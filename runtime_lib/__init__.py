"""What generated pipelines import at run time (see pipeline.py for the driver)."""

from runtime_lib import stopping as _stopping

# first thing, before numpy and numba load: a stop while a pipeline starts is clean
_stopping.install_early()
