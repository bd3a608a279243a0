"""A lookup cache's 'lookup.cache.ttl' runs on the processing-time clock of
``runtime_lib.watermarks.monotonic_ms``, the one state TTLs and idle timeouts
read: under a test's clock (``use_test_clock``, as ``sqlc test`` sets it) a
cached row expires when that clock has moved past its TTL, not by the time
the test takes. Against the real Redis."""

from __future__ import annotations

import json
import uuid

from runtime_lib.columns import column_from_pylist
from runtime_lib.io.tables import RedisTable
from runtime_lib.schema import Field
from runtime_lib.watermarks import use_test_clock


def test_a_cached_row_expires_by_the_test_clock(redis_server):
    import redis

    prefix = f"cache-clock-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_server.url)
    client.set(f"{prefix}:m1", json.dumps({"model_id": "m1", "price": 1}))
    now = [1_000_000]
    previous = use_test_clock(lambda: now[0])
    table = RedisTable(url=redis_server.url, key_pattern=prefix + ":{model_id}",
                       fields=[Field("model_id", "VARCHAR"), Field("price", "INT")],
                       value_format="json", cache_max_rows=100, cache_ttl_ms=60_000)
    try:
        def price() -> int:
            found, columns = table.lookup([column_from_pylist(["m1"], "O")])
            assert found.tolist() == [True]
            return columns[table.names.index("price")].to_pylist()[0]

        assert price() == 1
        client.set(f"{prefix}:m1", json.dumps({"model_id": "m1", "price": 2}))
        assert price() == 1  # cached: the test's clock has not moved
        now[0] += 59_999
        assert price() == 1  # 1 ms short of the TTL
        now[0] += 1
        assert price() == 2  # expired at written + TTL: fetched again
        assert (table.stats.misses, table.stats.hits) == (2, 2)
    finally:
        use_test_clock(previous)
        table.close()
