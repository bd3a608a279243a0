"""Nexmark person / auction / bid events, written as JSON lines.

    PYTHONPATH=. python benchmarks/nexmark/generator.py --events 3000 --out DIR
        [--seed 0] [--rate 10000] [--out-of-order-ms 0]

writes DIR/person.jsonl, DIR/auction.jsonl, DIR/bid.jsonl (the columns of
benchmarks/nexmark/catalog.sql), DIR/events.jsonl (the same events in one file
in Flink's nested form, for catalog_flink.sql: ``{"event_type": 2, "person":
null, "auction": null, "bid": {...}}``) and DIR/side_input.csv (Nexmark q13's
side input: a header line, then ``i,i`` for i < 10,000).

The model is Nexmark's (github.com/nexmark/nexmark, nexmark-flink's
generator package, defaults of NexmarkConfiguration), written anew in Python
with ``random.Random(seed)`` in place of Java's SplittableRandom, so the same
seed gives the same bytes here, not the same events as Flink's generator:

- Event ``n`` (0-based) has time ``base_ms + n * 1000 / rate`` ms and its id
  says its kind: of every 50 ids, 1 is a person, 3 are auctions, 46 are bids.
- Persons get consecutive ids from 1000; an auction's seller and a bid's
  bidder are mostly "hot" persons (3 of 4), else one of the last 1,000 persons
  (plus up to 10 ids ahead of the newest, as Nexmark does); likewise a bid's
  auction is hot 1 time in 2, else one of the last 100 auctions (+10 ahead).
- Prices are ``round(10 ** U(0, 6) * 100)``; categories 10..14; an auction
  expires after 1 ms .. twice the time 100 further auctions take to arrive.
- Half the bids come from the channels Google/Facebook/Baidu/Apple, the rest
  from ``channel-0`` .. ``channel-9999``, 9 in 10 of whose URLs carry
  ``&channel_id=...`` (q21's REGEXP_EXTRACT finds it).
- ``extra`` pads each event to Nexmark's average sizes (200/500/100 bytes).

Out of order: as Nexmark's ``outOfOrderGroupSize``, events are emitted in
groups of ``g`` consecutive numbers, each group permuted by ``n * 953 mod g``
(the event's kind and time follow its permuted number). The groups are
``g = out_of_order_ms * rate / 1000`` events long, so no event is more than
``out_of_order_ms`` behind the latest one emitted before it.

One deliberate difference: Flink's BidGenerator adds FIRST_PERSON_ID to the
bidder twice (bidders would start at 2000 and rarely be persons); here it is
added once, as in Beam's original, so that bids join persons (q23).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BASE_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
FIRST_PERSON_ID = 1000
FIRST_AUCTION_ID = 1000
FIRST_CATEGORY_ID = 10
PERSON_PROPORTION, AUCTION_PROPORTION, BID_PROPORTION = 1, 3, 46
TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION
KINDS = ("person", "auction", "bid")  # event_type 0, 1, 2 in Flink's nested events
NUM_CATEGORIES = 5
HOT_AUCTION_RATIO, HOT_SELLERS_RATIO, HOT_BIDDERS_RATIO = 2, 4, 4
HOT_RATIO_BATCH = 100  # hot persons/auctions: the first of each batch of 100
NUM_IN_FLIGHT_AUCTIONS, NUM_ACTIVE_PEOPLE = 100, 1000
ID_LEAD = 10
AVG_SIZE = {"person": 200, "auction": 500, "bid": 100}
SIDE_INPUT_ROWS = 10_000

US_STATES = ["AZ", "CA", "ID", "OR", "WA", "WY"]
US_CITIES = ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond",
             "Seattle", "Kent", "Cheyenne"]
FIRST_NAMES = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah",
               "Deiter", "Walter"]
LAST_NAMES = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones",
              "Noris"]
HOT_CHANNELS = ("Google", "Facebook", "Baidu", "Apple")
CHANNELS = 10_000
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def stamp(ms: int) -> str:
    """TIMESTAMP(3) as Flink's JSON format writes it (UTC)."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def last_person(event_id: int) -> int:
    """Base-0 id of the newest person at ``event_id`` (Nexmark's lastBase0PersonId)."""
    epoch, offset = divmod(event_id, TOTAL_PROPORTION)
    return epoch * PERSON_PROPORTION + min(offset, PERSON_PROPORTION - 1)


def last_auction(event_id: int) -> int:
    """Base-0 id of the newest auction at ``event_id`` (lastBase0AuctionId)."""
    epoch, offset = divmod(event_id, TOTAL_PROPORTION)
    if offset < PERSON_PROPORTION:
        epoch, offset = epoch - 1, AUCTION_PROPORTION - 1
    elif offset >= PERSON_PROPORTION + AUCTION_PROPORTION:
        offset = AUCTION_PROPORTION - 1
    else:
        offset -= PERSON_PROPORTION
    return epoch * AUCTION_PROPORTION + offset


@dataclass
class Generator:
    """Nexmark's event model; ``events()`` yields ``(kind, record)`` in emission order."""

    seed: int = 0
    rate: float = 10_000.0  # events per second of event time
    out_of_order_ms: int = 0
    base_ms: int = BASE_MS  # the time of the first event

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.reusable = "".join(self.rng.choices(LETTERS, k=1 << 20))
        self.hot_urls = [self.base_url() for _ in HOT_CHANNELS]
        self.channels = [self.channel(i) for i in range(CHANNELS)]
        self.group = max(1, int(self.out_of_order_ms * self.rate / 1000))

    # -- strings ---------------------------------------------------------------

    def string(self, max_length: int, special: str = " ") -> str:
        """3 .. max_length-1 letters, 1 in 13 of them ``special`` (nextString)."""
        rng = self.rng
        n = 3 + rng.randrange(max_length - 3)
        return "".join(special if rng.randrange(13) == 0 else rng.choice(LETTERS)
                       for _ in range(n)).strip()

    def extra(self, current_size: int, kind: str) -> str:
        """Padding to the kind's average size, +-20 % (nextExtra)."""
        desired = AVG_SIZE[kind] - current_size
        if desired < 0:
            return ""
        delta = round(desired * 0.2)
        size = desired - delta + (self.rng.randrange(2 * delta) if delta else 0)
        at = self.rng.randrange(len(self.reusable) - size)
        return self.reusable[at:at + size]

    def base_url(self) -> str:
        parts = "/".join(self.string(5, "_") for _ in range(3))
        return f"https://www.nexmark.com/{parts}/item.htm?query=1"

    def channel(self, i: int) -> tuple[str, str]:
        url = self.base_url()
        if self.rng.randrange(10) > 0:
            url += f"&channel_id={abs(_reverse_int32(i))}"
        return f"channel-{i}", url

    # -- ids -------------------------------------------------------------------

    def some_person(self, event_id: int) -> int:
        """A random active person, or one up to ID_LEAD ahead (nextBase0PersonId)."""
        people = last_person(event_id) + 1
        active = min(people, NUM_ACTIVE_PEOPLE)
        return people - active + self.rng.randrange(active + ID_LEAD)

    def some_auction(self, event_id: int) -> int:
        """A random in-flight auction, or one up to ID_LEAD ahead (nextBase0AuctionId)."""
        newest = last_auction(event_id)
        low = max(newest - NUM_IN_FLIGHT_AUCTIONS, 0)
        return low + self.rng.randrange(newest - low + 1 + ID_LEAD)

    # -- events ----------------------------------------------------------------

    def timestamp(self, number: int) -> int:
        return self.base_ms + int(number * 1000 / self.rate)

    def person(self, event_id: int, ms: int) -> dict:
        rng = self.rng
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"{self.string(7)}@{self.string(5)}.com"
        card = " ".join(f"{rng.randrange(10_000):04d}" for _ in range(4))
        city, state = rng.choice(US_CITIES), rng.choice(US_STATES)
        size = 8 + len(name) + len(email) + len(card) + len(city) + len(state)
        return {"id": last_person(event_id) + FIRST_PERSON_ID, "name": name,
                "emailAddress": email, "creditCard": card, "city": city, "state": state,
                "dateTime": stamp(ms), "extra": self.extra(size, "person")}

    def auction(self, number: int, event_id: int, ms: int) -> dict:
        rng = self.rng
        if rng.randrange(HOT_SELLERS_RATIO) > 0:
            seller = last_person(event_id) // HOT_RATIO_BATCH * HOT_RATIO_BATCH
        else:
            seller = self.some_person(event_id)
        category = FIRST_CATEGORY_ID + rng.randrange(NUM_CATEGORIES)
        initial = price(rng)
        # an auction lasts on average as long as NUM_IN_FLIGHT_AUCTIONS more take to arrive
        ahead = NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION // AUCTION_PROPORTION
        horizon = self.timestamp(self.adjusted(number) + ahead) - ms
        expires = ms + 1 + rng.randrange(max(horizon * 2, 1))
        name, desc = self.string(20), self.string(100)
        size = 8 + len(name) + len(desc) + 40
        return {"id": last_auction(event_id) + FIRST_AUCTION_ID, "itemName": name,
                "description": desc, "initialBid": initial, "reserve": initial + price(rng),
                "dateTime": stamp(ms), "expires": stamp(expires),
                "seller": seller + FIRST_PERSON_ID, "category": category,
                "extra": self.extra(size, "auction")}

    def bid(self, event_id: int, ms: int) -> dict:
        rng = self.rng
        if rng.randrange(HOT_AUCTION_RATIO) > 0:
            auction = last_auction(event_id) // HOT_RATIO_BATCH * HOT_RATIO_BATCH
        else:
            auction = self.some_auction(event_id)
        if rng.randrange(HOT_BIDDERS_RATIO) > 0:
            bidder = last_person(event_id) // HOT_RATIO_BATCH * HOT_RATIO_BATCH + 1
        else:
            bidder = self.some_person(event_id)
        bid_price = price(rng)
        if rng.randrange(2) > 0:
            i = rng.randrange(len(HOT_CHANNELS))
            channel, url = HOT_CHANNELS[i], self.hot_urls[i]
        else:
            channel, url = self.channels[rng.randrange(CHANNELS)]
        return {"auction": auction + FIRST_AUCTION_ID, "bidder": bidder + FIRST_PERSON_ID,
                "price": bid_price, "channel": channel, "url": url, "dateTime": stamp(ms),
                "extra": self.extra(32, "bid")}

    def adjusted(self, number: int) -> int:
        """The permuted event number (nextAdjustedEventNumber)."""
        g = self.group
        return number // g * g + number * 953 % g

    def events(self, count: int) -> Iterator[tuple[str, dict]]:
        for count_so_far in range(count):
            number = self.adjusted(count_so_far)
            ms = self.timestamp(number)
            kind = number % TOTAL_PROPORTION
            if kind < PERSON_PROPORTION:
                yield "person", self.person(number, ms)
            elif kind < PERSON_PROPORTION + AUCTION_PROPORTION:
                yield "auction", self.auction(count_so_far, number, ms)
            else:
                yield "bid", self.bid(number, ms)


def price(rng: random.Random) -> int:
    return round(10.0 ** (rng.random() * 6.0) * 100.0)


def _reverse_int32(i: int) -> int:
    """Java's Integer.reverse: the 32 bits of ``i`` in reverse order, signed."""
    r = int(f"{i & 0xFFFFFFFF:032b}"[::-1], 2)
    return r - (1 << 32) if r >= 1 << 31 else r


def write(out: Path, count: int, seed: int = 0, rate: float = 10_000.0,
          out_of_order_ms: int = 0, base_ms: int = BASE_MS) -> dict[str, Path]:
    """Generate ``count`` events into ``out``; the path of each table's file."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / f"{kind}.jsonl" for kind in ("person", "auction", "bid", "events")}
    files = {kind: path.open("w", encoding="utf-8") for kind, path in paths.items()}
    try:
        gen = Generator(seed, rate, out_of_order_ms, base_ms)
        for kind, record in gen.events(count):
            files[kind].write(json.dumps(record, separators=(",", ":")) + "\n")
            nested = {"event_type": KINDS.index(kind)} | {k: None for k in KINDS}
            files["events"].write(json.dumps(nested | {kind: record},
                                             separators=(",", ":")) + "\n")
    finally:
        for f in files.values():
            f.close()
    paths["side_input"] = out / "side_input.csv"
    # (sqlc reads CSV columns by a header line; Flink by position, without one)
    rows = "".join(f"{i},{i}\n" for i in range(SIDE_INPUT_ROWS))
    paths["side_input"].write_text("key,value\n" + rows, encoding="utf-8")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=10_000.0,
                        help="events per second of event time (Nexmark's default 10000)")
    parser.add_argument("--out-of-order-ms", type=int, default=0)
    args = parser.parse_args()
    for kind, path in write(args.out, args.events, args.seed, args.rate,
                            args.out_of_order_ms).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()
