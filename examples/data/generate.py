#!/usr/bin/env python3
"""Deterministic sample data for the sqlc examples (examples/*.sql).

Run from anywhere:  python examples/data/generate.py
It rewrites, next to this file:

  llm_requests.jsonl       ~5,000 request events, in ARRIVAL order (file order)
  user_feedback.jsonl      ~1,500 ratings, in arrival order
  error_events.jsonl       one event per failed request, in arrival order
  model_configs.jsonl      one row per configured model (the lookup table)
  bad_llm_requests.jsonl   valid events mixed with malformed records
  late_events.json         manifest of the deliberately late request events

Field names are the catalog's column names (examples/catalog.sql);
timestamp_ms is epoch milliseconds, UTC. Every record carries every column
(NULL as JSON null), in catalog column order.

Only the standard library is used, and only `random.Random.random()`, whose
sequence Python guarantees across versions, so the output is byte-identical
on every run (distributions are implemented here on top of it).

Facts about the data (checked by assertions at the end of main()):

* Event time runs from 2025-11-10T10:00:00Z for 3 hours (last request event
  before 13:00:00Z); 200 users (user-001 .. user-200) with 1-3 sessions each:
  bursts of requests less than 15 minutes apart, sessions of a user separated
  by more than 30 minutes of inactivity. ~1% of requests have user_id NULL
  (anonymous). Exception on purpose: user-013 has two requests exactly 30
  minutes apart (11:00:00.000 and 11:30:00.000) and nothing in between, so
  by Flink's rule (session windows that touch are merged) they are ONE
  session.
* Models: gpt-4o, claude-3-opus, claude-3-haiku, llama-3-70b, mistral-large,
  gemini-1.5-pro, each with its own lognormal latency, token and price; ~3%
  cache hits (20-90 ms), ~0.6% multi-second outliers; timeouts at >= 30 s.
  Plus a rare 7th model, gpt-4o-mini (~15 requests), which has NO row in
  model_configs: LEFT JOINs with model_configs give NULLs for it.
* Scenarios to make the example queries' outputs interesting:
  - 10:40-10:50: a gpt-4o 'rate_limit' burst (error rate > 1%, Query 3);
  - 12:00-12:40: a batch job (user-007) floods claude-3-opus with large
    prompts (hourly cost anomaly, Query 5; capacity alert, Query 12);
  - from 12:00: mistral-large latency x1.6 (drift, Query 18; trend, Query 19);
  - three llama-3-70b runs fast (<100 ms), slow (>1000 ms) x k, fast
    (MATCH_RECOGNIZE, FR-ADV-001), at ~10:30, ~11:15 and ~12:20;
  - requests at exactly 10:05:00.000 (anonymous) and 11:00:00.000 (user-013),
    on window boundaries: they belong to the window that STARTS there.
* ~2% of requests have an error_code ('rate_limit', 'timeout',
  'context_length'), with tokens_used and cost NULL. ~0.2% have latency_ms
  NULL; ~0.5% have region NULL. ~30% of users (so ~30% of requests) are in
  experiment 'exp-42' with variant 'A' or 'B'; the others have both NULL.
* Arrival order: every event arrives within 20 s of its event time (file
  order = event time + a uniform 0-20 s delay), so with the catalog's 30 s
  watermark bound no regular event is ever late (the watermark at an event's
  arrival is more than 10 s behind its event time). Exactly 10 request
  events are delayed by 58 s .. 70 min instead; they are late for some or
  all of their windows. LATE_REQUESTS below lists them; late_events.json
  gives, per late event, its line in llm_requests.jsonl, the watermark at its
  arrival (single partition, file order, watermark after every record) and
  whether it is late for 1/5/15/60-minute tumbling windows and for 5-minute
  windows with EMIT AFTER WATERMARK WITH DELAY INTERVAL '2' MINUTES.
* user_feedback: ~30% of identified requests are rated (rating 1..5, lower
  for slow or failed requests); feedback arrives 5 s .. 15 min after the
  request: ~55% within 5 min, ~30% within 5-10 min, ~15% after 10 min.
* error_events: one per failed request, 0-8 s after it (so some fall outside
  Query 20's 5 s bound), error_count 1..5.
* bad_llm_requests.jsonl: see BAD_LINES below (line number -> why invalid);
  all other lines are valid events.
"""

from __future__ import annotations

import calendar
import itertools
import json
import math
import random
import time
from pathlib import Path

SEED = 20251110
OUT_DIR = Path(__file__).resolve().parent

T0 = calendar.timegm((2025, 11, 10, 10, 0, 0)) * 1000  # 2025-11-10T10:00:00Z
SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
T_END = T0 + 3 * HOUR
WATERMARK_BOUND = 30 * SEC
MAX_DISORDER = 20 * SEC  # arrival delay of regular events: uniform [0, 20 s)

# The 10 request events delivered late on purpose: (earliest event time as
# offset from T0, delay). Each is the first request at or after that time that
# is not a scripted one and, for delays under 100 s, lies late enough in its
# minute for the delay to carry the watermark past its 1-minute window.
LATE_PLAN = [
    (13 * MIN + 50 * SEC, 58 * SEC),  # late for its 1-min window only
    (29 * MIN + 50 * SEC, 60 * SEC),  # window end 10:30: late for 1/5/15-min windows
    (54 * MIN + 45 * SEC, 95 * SEC),  # late for 5-min windows, NOT with EMIT ... DELAY 2 min
    (61 * MIN + 30 * SEC, 150 * SEC),  # late for its 1-min window only
    (78 * MIN + 40 * SEC, 260 * SEC),  # late for 5-min windows even with a 2-min delay
    (80 * MIN, 70 * MIN),  # arrives ~12:30: late even for its 1-hour window
    (97 * MIN + 20 * SEC, 420 * SEC),
    (121 * MIN + 30 * SEC, 700 * SEC),
    (141 * MIN + 20 * SEC, 1300 * SEC),  # late for 1/5/15-min windows
    (164 * MIN + 50 * SEC, 12 * MIN),
]
# The resulting (request_id, delay ms), checked against the data by main().
LATE_REQUESTS = [
    ("req-00307", 58_000),
    ("req-00932", 60_000),
    ("req-01937", 95_000),
    ("req-02105", 150_000),
    ("req-02521", 260_000),
    ("req-02556", 4_200_000),
    ("req-03164", 420_000),
    ("req-03842", 700_000),
    ("req-04367", 1_300_000),
    ("req-04837", 720_000),
]

# model_id: (latency median ms, latency sigma, token median, cost per token USD,
#            share of traffic, max_tokens, temperature, max_qps, updated_at)
MODELS = {
    "gpt-4o": (900.0, 0.45, 650, 0.000010, 0.28, 4096, 0.7, 0.30, "2025-11-01 09:00:00.000"),
    "claude-3-opus": (
        2200.0,
        0.50,
        700,
        0.000075,
        0.10,
        4096,
        0.5,
        0.20,
        "2025-10-28 14:30:00.000",
    ),
    "claude-3-haiku": (
        350.0,
        0.35,
        500,
        0.00000125,
        0.20,
        4096,
        0.7,
        0.50,
        "2025-10-28 14:30:00.000",
    ),
    "llama-3-70b": (600.0, 0.50, 550, 0.0000009, 0.15, 8192, 0.8, 0.40, "2025-11-05 08:15:00.000"),
    "mistral-large": (
        1100.0,
        0.45,
        600,
        0.000012,
        0.12,
        8192,
        0.7,
        0.30,
        "2025-11-03 17:45:00.000",
    ),
    "gemini-1.5-pro": (
        1300.0,
        0.50,
        700,
        0.000010,
        0.15,
        8192,
        0.9,
        0.30,
        "2025-11-07 11:00:00.000",
    ),
}
UNCONFIGURED_MODEL = "gpt-4o-mini"  # present in requests, absent from model_configs
UNCONFIGURED_PARAMS = (450.0, 0.40, 500, 0.0000006)

REGIONS = ["us-east", "us-west", "eu-west", "ap-south"]
REGION_WEIGHTS = [0.35, 0.25, 0.25, 0.15]

ERROR_CODES = ["rate_limit", "timeout", "context_length"]
ERROR_WEIGHTS = [0.45, 0.35, 0.20]
ERROR_MESSAGES = {
    "rate_limit": [
        "Rate limit exceeded: too many requests for this model",
        "429 Too Many Requests: tokens-per-minute quota exhausted",
    ],
    "timeout": [
        "Upstream model did not respond within 30000 ms",
        "Gateway timeout while streaming completion",
    ],
    "context_length": [
        "Prompt exceeds the model's maximum context length",
        "Requested max_tokens plus prompt tokens exceed context window",
    ],
}

PROMPTS = [
    "Summarize this support ticket in two sentences.",
    "Translate to French: Our office will be closed on Monday.",
    "Write a SQL query that counts orders per day.",
    "Explain the difference between TCP and UDP.",
    "Draft a polite reply declining the meeting invitation.",
    "What are the side effects of ibuprofen?",
    "Generate three names for a coffee shop.",
    "Fix the bug in this Python function: def f(x): return x +",
    "Classify the sentiment of: 'the update broke my workflow'.",
    "Extract all dates from the following contract clause.",
    "Write a haiku about distributed systems.",
    "Give me a 5-day workout plan for beginners.",
    "Convert this JSON to YAML.",
    "Explain watermarks in stream processing.",
    "Suggest unit tests for a function that parses ISO dates.",
    "Rewrite this paragraph in plain English.",
    "List the pros and cons of remote work.",
    "What is the capital of Australia?",
    "Summarize the attached quarterly earnings call.",
    "Create a regex that matches email addresses.",
]
BATCH_PROMPT = "Summarize the following document for the weekly report (batch job)."

FEEDBACK_TEXTS = {
    1: ["Wrong answer.", "Useless, it ignored my question.", "Way too slow."],
    2: ["Partially correct.", "Too slow to be useful.", "Missed the point."],
    3: ["OK but generic.", "Fine.", "Took a while."],
    4: ["Helpful.", "Good answer, a bit long.", "Mostly right."],
    5: ["Perfect, thanks!", "Exactly what I needed.", "Great and fast."],
}


class Rand:
    """Distributions built only on random.Random.random() (stable sequence)."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def u(self) -> float:
        return self._r.random()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.u()

    def int_between(self, a: int, b: int) -> int:
        """Uniform integer in [a, b]."""
        return a + min(int(self.u() * (b - a + 1)), b - a)

    def normal(self) -> float:
        u1 = 1.0 - self.u()  # (0, 1]
        u2 = self.u()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def pick(self, items, weights=None):
        if weights is None:
            return items[min(int(self.u() * len(items)), len(items) - 1)]
        x = self.u() * sum(weights)
        acc = 0.0
        for item, w in zip(items, weights):
            acc += w
            if x < acc:
                return item
        return items[-1]

    def chance(self, p: float) -> bool:
        return self.u() < p


def iso(ms: int) -> str:
    s, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:03d}Z"


# --------------------------------------------------------------------------
# Request skeletons: (timestamp_ms, user_id, model_id, flags)
# --------------------------------------------------------------------------


def make_users(rnd: Rand):
    users = []
    model_ids = list(MODELS)
    shares = [MODELS[m][4] for m in model_ids]
    for i in range(1, 201):
        uid = f"user-{i:03d}"
        region = rnd.pick(REGIONS, REGION_WEIGHTS)
        primary = rnd.pick(model_ids, shares)
        in_exp = rnd.chance(0.32)
        variant = ("A" if rnd.chance(0.5) else "B") if in_exp else None
        users.append(
            {
                "user_id": uid,
                "region": region,
                "primary": primary,
                "experiment_id": "exp-42" if in_exp else None,
                "variant": variant,
            }
        )
    return users


def session_times(rnd: Rand):
    """Request times of one user: 1-3 bursts separated by > 30 min gaps."""
    times = []
    n_sessions = rnd.pick([1, 2, 3], [0.30, 0.40, 0.30])
    t = T0 + int(rnd.uniform(0, 50 * MIN))
    for _ in range(n_sessions):
        n_req = 1 + int(rnd.expo(12.5))
        for k in range(n_req):
            if k > 0:
                t += int(min(rnd.expo(70 * SEC), 14 * MIN)) + 500
            if t >= T_END:
                return times
            times.append(t)
        # inactivity gap strictly longer than the 30 min session gap
        t += 30 * MIN + 1 * MIN + int(rnd.expo(25 * MIN))
    return times


def build_requests(rnd: Rand):
    users = make_users(rnd)
    by_id = {u["user_id"]: u for u in users}
    model_ids = list(MODELS)
    shares = [MODELS[m][4] for m in model_ids]
    reqs = []  # dicts without request_id yet

    def add(ts, user, model, **extra):
        r = {"ts": ts, "user": user, "model": model}
        r.update(extra)
        reqs.append(r)

    for u in users:
        if u["user_id"] in ("user-007", "user-013"):
            continue  # scripted below
        for ts in session_times(rnd):
            model = u["primary"] if rnd.chance(0.7) else rnd.pick(model_ids, shares)
            add(ts, u, model)

    # user-007: ordinary morning use, then a batch job on claude-3-opus.
    u7 = by_id["user-007"]
    t = T0 + 20 * MIN
    for _ in range(8):
        add(t, u7, "gpt-4o")
        t += int(rnd.expo(60 * SEC)) + 1000
    t = T0 + 2 * HOUR + int(rnd.uniform(0, 20 * SEC))
    while t < T0 + 2 * HOUR + 40 * MIN:
        add(t, u7, "claude-3-opus", batch=True)
        t += 2 * SEC + int(rnd.expo(5 * SEC))

    # user-013: two requests exactly one session gap apart -> one session.
    u13 = by_id["user-013"]
    add(T0 + 1 * HOUR, u13, "claude-3-haiku")  # also on an hour boundary
    add(T0 + 1 * HOUR + 30 * MIN, u13, "claude-3-haiku")

    # the unconfigured model: 15 ordinary requests switched to it
    ordinary = [r for r in reqs if r["user"]["user_id"] not in ("user-007", "user-013")]
    for _ in range(15):
        ordinary[rnd.int_between(0, len(ordinary) - 1)]["model"] = UNCONFIGURED_MODEL

    # anonymous requests (user_id NULL), one exactly on a 5-minute boundary
    anon = {"user_id": None, "region": None, "experiment_id": None, "variant": None}
    add(T0 + 5 * MIN, dict(anon, region="us-east"), "gpt-4o")
    for _ in range(49):
        ts = T0 + int(rnd.uniform(0, 3 * HOUR - 1))
        add(ts, dict(anon, region=rnd.pick(REGIONS, REGION_WEIGHTS)), rnd.pick(model_ids, shares))

    return reqs


def model_params(model):
    if model == UNCONFIGURED_MODEL:
        return UNCONFIGURED_PARAMS
    m = MODELS[model]
    return m[0], m[1], m[2], m[3]


def fill_request(rnd: Rand, r):
    """Draw latency, tokens, cost, errors, prompt for one request skeleton."""
    ts, user, model = r["ts"], r["user"], r["model"]
    med, sigma, tok_med, cpt = model_params(model)
    max_tokens = MODELS[model][5] if model in MODELS else 4096
    if model == "mistral-large" and ts >= T0 + 2 * HOUR:
        med *= 1.6  # latency drift in the third hour

    # errors
    p_err = 0.015
    if model == "gpt-4o" and T0 + 40 * MIN <= ts < T0 + 50 * MIN:
        p_err = 0.20
    error = None
    if rnd.chance(p_err):
        if model == "gpt-4o" and T0 + 40 * MIN <= ts < T0 + 50 * MIN:
            error = "rate_limit"
        else:
            error = rnd.pick(ERROR_CODES, ERROR_WEIGHTS)

    if error == "rate_limit":
        latency = rnd.uniform(5, 60)
    elif error == "timeout":
        latency = 30000.0 + rnd.uniform(0, 400)
    elif error == "context_length":
        latency = rnd.uniform(40, 250)
    elif rnd.chance(0.03):
        latency = rnd.uniform(20, 90)  # cache hit
    else:
        latency = rnd.lognormal(med, sigma)
        if rnd.chance(0.006):
            latency *= rnd.uniform(4.0, 9.0)  # multi-second outlier

    if r.get("batch"):
        tokens = int(min(max(rnd.lognormal(2600, 0.25), 800), max_tokens))
        prompt = BATCH_PROMPT
    else:
        tokens = int(min(max(rnd.lognormal(tok_med, 0.7), 20), max_tokens))
        prompt = rnd.pick(PROMPTS)
    cost = round(tokens * cpt * rnd.uniform(0.8, 1.3), 6)
    if error is not None:
        tokens, cost = None, None

    region = user["region"]
    if rnd.chance(0.005):
        region = None
    lat = round(latency, 1)
    if rnd.chance(0.002):
        lat = None
    r.update(
        latency_ms=lat,
        tokens_used=tokens,
        cost=cost,
        error_code=error,
        prompt_text=prompt,
        region=region,
    )


def inject_match_patterns(reqs):
    """Three llama-3-70b runs A (fast) B+ (slow) C (fast), consecutive in
    event-time order within the model's partition."""
    llama = sorted((r for r in reqs if r["model"] == "llama-3-70b"), key=lambda r: r["ts"])
    for target, n_slow in ((T0 + 30 * MIN, 2), (T0 + 75 * MIN, 3), (T0 + 140 * MIN, 1)):
        i = next(k for k, r in enumerate(llama) if r["ts"] >= target)
        run = llama[i : i + n_slow + 2]
        values = [42.0] + [1850.0 + 400.0 * j for j in range(n_slow)] + [61.5]
        for r, v in zip(run, values):
            r["latency_ms"] = v
            r["error_code"] = None
            r["pattern"] = True
            if r["tokens_used"] is None:
                r["tokens_used"], r["cost"] = 300, round(300 * MODELS["llama-3-70b"][3], 6)


REQUEST_COLUMNS = [
    "request_id",
    "user_id",
    "model_id",
    "region",
    "timestamp_ms",
    "latency_ms",
    "tokens_used",
    "cost",
    "error_code",
    "experiment_id",
    "variant",
    "prompt_text",
]


def request_record(r):
    u = r["user"]
    return {
        "request_id": r["request_id"],
        "user_id": u["user_id"],
        "model_id": r["model"],
        "region": r["region"],
        "timestamp_ms": r["ts"],
        "latency_ms": r["latency_ms"],
        "tokens_used": r["tokens_used"],
        "cost": r["cost"],
        "error_code": r["error_code"],
        "experiment_id": u["experiment_id"],
        "variant": u["variant"],
        "prompt_text": r["prompt_text"],
    }


def arrival_order(items, key_ts, rnd: Rand, delays=None):
    """Sort by event time + uniform [0, MAX_DISORDER) delay (or a given delay)."""
    keyed = []
    for seq, it in enumerate(items):
        d = delays.get(id(it)) if delays else None
        if d is None:
            d = int(rnd.u() * MAX_DISORDER)
        keyed.append((key_ts(it) + d, seq, it))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [it for _, _, it in keyed]


def dumps(rec) -> str:
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=True)


def write_jsonl(name, records):
    with open(OUT_DIR / name, "w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            f.write(rec if isinstance(rec, str) else dumps(rec))
            f.write("\n")


# --------------------------------------------------------------------------
# Feedback, errors, configs, bad records
# --------------------------------------------------------------------------


def make_feedback(rnd: Rand, reqs):
    rows = []
    for r in reqs:
        if r["user"]["user_id"] is None or not rnd.chance(0.30):
            continue
        model = r["model"]
        med = model_params(model)[0]
        lat = r["latency_ms"] if r["latency_ms"] is not None else med
        if r["error_code"] is not None:
            score = 1.3 + rnd.uniform(0, 1.2)
        else:
            score = 4.2 - 0.9 * math.log(max(lat, 1.0) / med) + 0.8 * rnd.normal()
            if r["user"]["variant"] == "B":
                score += 0.25
        rating = int(min(5, max(1, round(score))))
        bucket = rnd.pick(["fast", "mid", "slow"], [0.55, 0.30, 0.15])
        if bucket == "fast":
            delay = rnd.uniform(5 * SEC, 5 * MIN)
        elif bucket == "mid":
            delay = rnd.uniform(5 * MIN + 1, 10 * MIN)
        else:
            delay = rnd.uniform(10 * MIN + 1, 15 * MIN)
        text = rnd.pick(FEEDBACK_TEXTS[rating]) if rnd.chance(0.6) else None
        rows.append(
            {
                "request_id": r["request_id"],
                "user_id": r["user"]["user_id"],
                "rating": rating,
                "feedback_text": text,
                "timestamp_ms": r["ts"] + int(delay),
            }
        )
    return rows


def make_errors(rnd: Rand, reqs):
    rows = []
    for r in reqs:
        code = r["error_code"]
        if code is None:
            continue
        if code == "rate_limit":
            count = rnd.int_between(1, 5)
        elif code == "timeout":
            count = rnd.int_between(1, 3)
        else:
            count = 1
        rows.append(
            {
                "request_id": r["request_id"],
                "error_code": code,
                "error_message": rnd.pick(ERROR_MESSAGES[code]),
                "error_count": count,
                "timestamp_ms": r["ts"] + int(rnd.uniform(0, 8 * SEC)),
            }
        )
    return rows


def model_config_rows():
    rows = []
    for model_id, m in MODELS.items():
        rows.append(
            {
                "model_id": model_id,
                "max_tokens": m[5],
                "temperature": m[6],
                "cost_per_token": m[3],
                "max_qps": m[7],
                "updated_at": m[8],
            }
        )
    return rows


# Line number (1-based) in bad_llm_requests.jsonl -> why it is invalid.
BAD_LINES = {
    3: "truncated JSON (record cut off mid-object)",
    6: "latency_ms is a string ('slow'), not a number",
    9: "timestamp_ms missing (NOT NULL event-time source)",
    11: "request_id missing (NOT NULL)",
    13: "a JSON array instead of an object",
    15: "empty line",
    18: "timestamp_ms is a string, not epoch millis",
    20: "request_id is null (NOT NULL)",
    22: "not JSON at all",
    24: "JSON null instead of an object",
    26: "model_id missing (NOT NULL)",
    28: "tokens_used is a string ('many'), not an integer",
}
BAD_FILE_VALID = 20


def make_bad_file(valid_records):
    """valid_records: 20 consecutive valid request records."""
    v = [dict(r) for r in valid_records[:BAD_FILE_VALID]]
    base = v[0]
    t = base["timestamp_ms"]
    # line 7: a valid record with its nullable columns omitted (missing -> NULL)
    v[4] = {k: v[4][k] for k in ("request_id", "model_id", "timestamp_ms")}
    bad = {}
    bad[3] = dumps(dict(base, request_id="bad-001", timestamp_ms=t + 1))[:57]
    bad[6] = dumps(dict(base, request_id="bad-002", latency_ms="slow"))
    rec = dict(base, request_id="bad-003")
    del rec["timestamp_ms"]
    bad[9] = dumps(rec)
    rec = dict(base)
    del rec["request_id"]
    bad[11] = dumps(rec)
    bad[13] = dumps([dict(base, request_id="bad-005")])
    bad[15] = ""
    bad[18] = dumps(dict(base, request_id="bad-006", timestamp_ms="2025-11-10T10:00:00Z"))
    bad[20] = dumps(dict(base, request_id=None))
    bad[22] = "request_id=bad-008 model_id=gpt-4o latency_ms=812"
    bad[24] = "null"
    rec = dict(base, request_id="bad-009")
    del rec["model_id"]
    bad[26] = dumps(rec)
    bad[28] = dumps(dict(base, request_id="bad-010", tokens_used="many"))
    assert set(bad) == set(BAD_LINES)
    lines = []
    vi = iter(v)
    n_total = BAD_FILE_VALID + len(bad)
    for ln in range(1, n_total + 1):
        lines.append(bad[ln] if ln in bad else dumps(next(vi)))
    assert next(vi, None) is None
    return lines


# --------------------------------------------------------------------------
# Late-event analysis
# --------------------------------------------------------------------------


def surely_late_for_1m(reqs, i, delay):
    """True when request i, delivered `delay` ms after its event time, is late
    for its 1-minute window whatever the other events' arrival jitter: some
    other event with event time in [window_end + 30 s, ts + delay - 20 s]
    exists; it arrives before request i and moves the watermark past the end."""
    ts = reqs[i]["ts"]
    lo = (ts // MIN) * MIN + MIN + WATERMARK_BOUND
    hi = ts + delay - MAX_DISORDER
    return any(lo <= r["ts"] <= hi for r in reqs[i + 1 :] if r["ts"] <= hi)


def late_analysis(arrival, late_ids):
    """Watermark at each late event's arrival and which windows it misses."""
    out = []
    max_ts = None
    for line_no, rec in enumerate(arrival, start=1):
        ts = rec["timestamp_ms"]
        if rec["request_id"] in late_ids:
            wm = None if max_ts is None else max_ts - WATERMARK_BOUND
            late_for = {}
            for label, size, allowed in (
                ("tumble_1m", MIN, 0),
                ("tumble_5m", 5 * MIN, 0),
                ("tumble_15m", 15 * MIN, 0),
                ("tumble_1h", HOUR, 0),
                ("tumble_5m_emit_delay_2m", 5 * MIN, 2 * MIN),
            ):
                end = (ts // size) * size + size
                late_for[label] = wm is not None and end + allowed - 1 <= wm
            out.append(
                {
                    "request_id": rec["request_id"],
                    "line": line_no,
                    "timestamp_ms": ts,
                    "event_time": iso(ts),
                    "delay_ms": late_ids[rec["request_id"]],
                    "watermark_at_arrival_ms": wm,
                    "watermark_at_arrival": None if wm is None else iso(wm),
                    "late_for": late_for,
                }
            )
        max_ts = ts if max_ts is None else max(max_ts, ts)
    return out


def main() -> None:
    rnd = Rand(SEED)
    reqs = build_requests(rnd)
    for r in reqs:
        fill_request(rnd, r)
    inject_match_patterns(reqs)

    # request ids in event-time order
    reqs.sort(key=lambda r: (r["ts"], r["user"]["user_id"] or "", r["model"]))
    for n, r in enumerate(reqs, start=1):
        r["request_id"] = f"req-{n:05d}"

    # choose the late events (see LATE_PLAN), never a scripted pattern or
    # window-boundary request
    late = {}
    for target, delay in LATE_PLAN:
        i = next(k for k, r in enumerate(reqs) if r["ts"] >= T0 + target)
        while (
            reqs[i].get("pattern")
            or reqs[i]["ts"] % (5 * MIN) == 0
            or id(reqs[i]) in late
            or not surely_late_for_1m(reqs, i, delay)
        ):
            i += 1
        assert reqs[i]["ts"] + delay < T_END, "a late event must arrive before the end"
        late[id(reqs[i])] = delay
    late_ids = {r["request_id"]: late[id(r)] for r in reqs if id(r) in late}

    records = [request_record(r) for r in reqs]
    rec_by_obj = {id(r): rec for r, rec in zip(reqs, records)}
    arrival_reqs = arrival_order(reqs, lambda r: r["ts"], rnd, delays=late)
    arrival = [rec_by_obj[id(r)] for r in arrival_reqs]
    write_jsonl("llm_requests.jsonl", arrival)

    feedback = arrival_order(make_feedback(rnd, reqs), lambda f: f["timestamp_ms"], rnd)
    write_jsonl("user_feedback.jsonl", feedback)
    errors = arrival_order(make_errors(rnd, reqs), lambda e: e["timestamp_ms"], rnd)
    write_jsonl("error_events.jsonl", errors)
    write_jsonl("model_configs.jsonl", model_config_rows())
    write_jsonl("bad_llm_requests.jsonl", make_bad_file(records[100:]))

    analysis = late_analysis(arrival, late_ids)
    manifest = {
        "description": (
            "Request events of llm_requests.jsonl delivered late on purpose. line = 1-based "
            "line in llm_requests.jsonl (arrival order). watermark = max event time of the "
            "lines before it - 30 s (single partition, file order, watermark after every "
            "record). late_for[w] = the event's window has already fired at its arrival "
            "(window_end - 1 ms (+ EMIT delay) <= watermark). Every other event arrives "
            "within 20 s of its event time and is never late."
        ),
        "watermark_bound_ms": WATERMARK_BOUND,
        "max_disorder_of_regular_events_ms": MAX_DISORDER,
        "late_events": analysis,
    }
    with open(OUT_DIR / "late_events.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    # ---- facts promised in the docstring ----
    assert sorted(late_ids.items()) == sorted(LATE_REQUESTS), sorted(late_ids.items())
    assert all(r["timestamp_ms"] >= T0 and r["timestamp_ms"] < T_END for r in records)
    # regular events are never late; the 10 late ones are late for 1-min windows
    max_ts = None
    for rec in arrival:
        ts = rec["timestamp_ms"]
        if max_ts is not None and rec["request_id"] not in late_ids:
            assert ts > max_ts - MAX_DISORDER, rec
        max_ts = ts if max_ts is None else max(max_ts, ts)
    assert all(a["late_for"]["tumble_1m"] for a in analysis)
    assert [a["request_id"] for a in analysis if a["late_for"]["tumble_1h"]] == ["req-02556"]
    assert [a["request_id"] for a in analysis if a["late_for"]["tumble_15m"]] == [
        "req-00932",
        "req-02556",
        "req-04367",
    ]
    assert (
        sum(
            a["late_for"]["tumble_5m"] and not a["late_for"]["tumble_5m_emit_delay_2m"]
            for a in analysis
        )
        == 2
    )
    # sessions: a user's consecutive requests are < 15 min or > 30 min apart,
    # except user-013's two requests exactly 30 min apart
    per_user = {}
    for rec in records:
        if rec["user_id"] is not None:
            per_user.setdefault(rec["user_id"], []).append(rec["timestamp_ms"])
    assert len(per_user) == 200
    for uid, ts_list in per_user.items():
        gaps = [b - a for a, b in itertools.pairwise(ts_list)]
        if uid == "user-013":
            assert ts_list == [T0 + HOUR, T0 + HOUR + 30 * MIN]
        else:
            assert all(g < 15 * MIN or g > 30 * MIN for g in gaps), uid
    assert any(r["timestamp_ms"] == T0 + 5 * MIN for r in records)
    assert 4500 <= len(records) <= 5500 and 1300 <= len(feedback) <= 1800
    assert sum(r["model_id"] == UNCONFIGURED_MODEL for r in records) == 15
    n_err = sum(r["error_code"] is not None for r in records)
    print(
        f"llm_requests: {len(records)} events, {iso(records[0]['timestamp_ms'])} .. "
        f"{iso(records[-1]['timestamp_ms'])}, {n_err} errors, "
        f"{sum(r['user_id'] is None for r in records)} anonymous, "
        f"{sum(r['experiment_id'] is not None for r in records)} in exp-42"
    )
    print(f"user_feedback: {len(feedback)} rows; error_events: {len(errors)} rows")
    for a in analysis:
        print(
            f"  late {a['request_id']} line {a['line']} at {a['event_time']} "
            f"delay {a['delay_ms']} ms: {a['late_for']}"
        )


if __name__ == "__main__":
    main()
