"""JSON decode rate of Nexmark bids, flat (catalog.sql's bid table) against
nested (catalog_flink.sql's ``bid ROW<...>`` column of the events table), all
fields and the three q2/q5 read; records per CPU-second, best of 3.

    PYTHONPATH=. python benchmarks/nexmark/decode_nested.py [--events 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.nexmark import generator
from runtime_lib.io.decode import JsonDecoder
from runtime_lib.schema import Field

BID = [("auction", "BIGINT"), ("bidder", "BIGINT"), ("price", "BIGINT"), ("channel", "VARCHAR"),
       ("url", "VARCHAR"), ("dateTime", "TIMESTAMP(3)"), ("extra", "VARCHAR")]
FEW = ("auction", "price", "dateTime")


def rate(decoder: JsonDecoder, records: list[bytes]) -> float:
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for i in range(0, len(records), 65_536):
            _, dead = decoder.decode(records[i:i + 65_536])
            assert not dead
        best = max(best, len(records) / (time.process_time() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = generator.write(Path(tmp), args.events)
        flat = paths["bid"].read_bytes().splitlines()
        nested = [e for e in paths["events"].read_bytes().splitlines()
                  if e.startswith(b'{"event_type":2')]
    for label, fields in (("all 7 fields", BID), ("3 fields", [f for f in BID if f[0] in FEW])):
        flat_rate = rate(JsonDecoder([Field(n, t) for n, t in fields]), flat)
        nested_rate = rate(JsonDecoder([Field("event_type", "INT")] + [
            Field(f"bid.{n}", t, path=("bid", n)) for n, t in fields]), nested)
        print(f"{label:13} flat {flat_rate / 1e6:.2f} M/s   nested (+event_type) "
              f"{nested_rate / 1e6:.2f} M/s   ({len(flat)} bids)")


if __name__ == "__main__":
    main()
