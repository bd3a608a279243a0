"""Bad records as a user meets them: a generated module run on a file that has
malformed lines among good ones. Every bad line becomes a dead letter with a
reason in sqlc's own words (never a library's message, which changes between
versions), records nested thousands of levels deep included, and the run goes
on to exit 0 with the good rows."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from runtime_lib.io.decode import CsvDecoder, JsonDecoder
from runtime_lib.schema import Field

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "generated" / "s02_failed_requests.py"
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"

DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_ARRAY = b"[" * 100_000

# (line, its dead letter's reason); the lines the generated module reads
BAD_LINES = [
    (b'{"request_id": "r1", "model_id": "\xff", "timestamp_ms": 1762768804446}',
     "malformed JSON: invalid UTF-8 at byte 34 (0xff)"),
    (DEEP_OBJECT,
     "malformed JSON: nested 5000 levels deep (at byte 24995), deeper than the decoder follows"),
    (DEEP_ARRAY,
     ("malformed JSON: nested 100000 levels deep (at byte 99999), deeper than the decoder "
      "follows")),
    (b'{"request_id": "r2", "model_id": "m", "timestamp_ms": 1762768804446, "extra": '
     + b"[" * 3000 + b"]" * 3000 + b"}",
     "malformed JSON: nested 3001 levels deep (at byte 3077), deeper than the decoder follows"),
    (b'{"request_id": "r3", "model_id": "m", "timestamp_ms": NaN}',
     "malformed JSON: NaN is not a JSON number at line 1, column 55 (byte 54)"),
    (b'{"request_id": "r4", "model_id": "m", "timestamp_ms": 1e400}',
     "malformed JSON: number too large at line 1, column 55 (byte 54)"),
    (b'{"request_id": "r5", "model_id": "m", "timestamp_ms": 1',
     "malformed JSON: truncated at line 1, column 56 (byte 55)"),
    (b'{"request_id": "r6"}{"model_id": "m"}',
     "malformed JSON: trailing data after the value at line 1, column 21 (byte 20)"),
    (b'{"request_id": "r7\x01", "model_id": "m", "timestamp_ms": 1}',
     "malformed JSON: control character U+0001 in a string at line 1, column 19 (byte 18)"),
    (b'{"request_id": "\\ud800", "model_id": "m", "timestamp_ms": 1}',
     "malformed JSON: unpaired UTF-16 surrogate escape at line 1, column 17 (byte 16)"),
    (b'\xef\xbb\xbf{"request_id": "r8", "model_id": "m", "timestamp_ms": 1}',
     "malformed JSON: unexpected character U+FEFF at line 1, column 1 (byte 0)"),
    (b'{"request_id": "r9", "model_id": "m", "timestamp_ms": 1, }',
     "malformed JSON: unexpected '}' at line 1, column 58 (byte 57)"),
]


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MODULE), *args], cwd=cwd, capture_output=True,
                          check=False, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_generated_module_sends_malformed_lines_to_dead_letters(tmp_path: Path) -> None:
    good = EVENTS.read_bytes().splitlines()[:200]
    lines = list(good)
    where = {}
    for i, (line, reason) in enumerate(BAD_LINES):  # spread among the good lines
        at = 10 + 15 * i
        lines.insert(at, line)
    for number, line in enumerate(lines, start=1):
        where[line] = number
    data = tmp_path / "events.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "good.jsonl").write_bytes(b"\n".join(good) + b"\n")
    result = run_module("--input", f"llm_requests={data}", "--output", "out.jsonl",
                        "--dead-letter", "dead.jsonl", "--batch-size", "64", cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr and f"{len(BAD_LINES)} dead letters" in stderr
    letters = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [(d["position"], d["reason"]) for d in letters] == [
        (where[line], reason) for line, reason in BAD_LINES]
    # the good rows are those of the good lines alone
    expected = run_module("--input", "llm_requests=good.jsonl", "--output", "expected.jsonl",
                          cwd=tmp_path)
    assert expected.returncode == 0, expected.stderr.decode()
    out = (tmp_path / "out.jsonl").read_text()
    assert out and out == (tmp_path / "expected.jsonl").read_text()


def test_generated_module_csv_reasons_are_ours(tmp_path: Path) -> None:
    data = tmp_path / "events.csv"
    data.write_bytes(b"request_id,model_id,timestamp_ms,tokens_used,error_code,prompt_text\n"
                     b"r1,m,1762768804446,5,timeout,fine\n"
                     b'r2,m,1762768804447,5,timeout,"quoted"then text\n'
                     b"r3,\xff,1762768804449,5,timeout,x\n"
                     b"r4,m,1762768804450,5,timeout,fine\n"
                     b'r5,m,1762768804448,5,timeout,"never closed\n')  # (to the end)
    result = run_module("--input", f"llm_requests={data}", "--output", "out.jsonl",
                        "--dead-letter", "dead.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    letters = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [(d["position"], d["reason"]) for d in letters] == [
        (3, "malformed CSV: text after the closing quote of field 6 (byte 37)"),
        (4, "malformed CSV: invalid UTF-8 at byte 3 (0xff)"),
        (6, "malformed CSV: field 6 opens a quote that is not closed (byte 29)"),
    ]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["request_id"] for r in rows] == ["r1", "r4"]


# ------------------------------------------------------- no library wording

SCHEMA = [Field("request_id", "VARCHAR", False), Field("n", "BIGINT"),
          Field("tags", "ARRAY<VARCHAR>"), Field("m", "MAP<VARCHAR,BIGINT>")]
MALFORMED = [
    b'{"request_id": "\xff"}', b"?", b"", b'{"request_id": "r", "n"', b"NaN", b"[Infinity]",
    b'{"n": 1e400}', b'"a\x01"', b'{"a":1}{"b"', b"\xef\xbb\xbf{}", b'{"a":1,}', b"{'a':1}",
    b'"\\x"', b'"\\u00zz"', b"01", b"-", b"[1 2]", b'{"a" 1}', b"tru", b'"\\udc00"',
    b"9" * 5000, DEEP_OBJECT, DEEP_ARRAY,
    b'{"request_id": "r", "tags": [1]}', b'{"request_id": "r", "m": {"x": "one"}}',
]


def _library_message(raw: bytes) -> str | None:
    """msgspec's own message for ``raw`` (what the old reasons copied)."""
    for decode in (msgspec.json.Decoder().decode,
                   JsonDecoder(SCHEMA)._decode_one):
        try:
            decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            return str(exc)
    return None


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "reference"])
def test_reasons_never_quote_the_library(bulk: bool) -> None:
    decoder = JsonDecoder(SCHEMA, "s")
    decode = decoder.decode if bulk else decoder.decode_reference
    _, dead = decode(MALFORMED)
    assert [d.position for d in dead] == list(range(len(MALFORMED)))
    for raw, letter in zip(MALFORMED, dead):
        message = _library_message(raw)
        assert message, raw[:40]
        for part in message.removeprefix("JSON is malformed: ").split(" - at ")[:1]:
            core = part.split(" (byte")[0].lower()
            assert core not in letter.reason.lower(), (raw[:40], letter.reason, message)


def test_nested_values_name_the_element_in_our_words() -> None:
    decoder = JsonDecoder(SCHEMA, "s")
    records = [b'{"request_id": "r", "tags": ["a", 1]}', b'{"request_id": "r", "m": {"x": "one"}}']
    for decode in (decoder.decode, decoder.decode_reference):
        _, dead = decode(records)
        assert [d.reason for d in dead] == [
            ("field 'tags': expected ARRAY<VARCHAR>, got array (element 1: expected VARCHAR, "
             "got integer 1)"),
            ("field 'm': expected MAP<VARCHAR,BIGINT>, got object (value of key 'x': expected "
             "BIGINT, got string 'one')"),
        ]


def test_csv_reasons_are_ours() -> None:
    decoder = CsvDecoder([Field("a", "VARCHAR"), Field("b", "VARCHAR")], ["a", "b"], "f.csv")
    records = [b'x,"y"z', b'x,"y', b"x" * 200_000 + b",y", b"ok,fine"]
    for decode in (decoder.decode, decoder.decode_reference):
        batch, dead = decode(records)
        assert batch.to_rows() == [("ok", "fine")]
        assert [(d.position, d.reason) for d in dead] == [
            (0, "malformed CSV: text after the closing quote of field 2 (byte 5)"),
            (1, "malformed CSV: field 2 opens a quote that is not closed (byte 2)"),
            (2, "malformed CSV: field 1 is longer than 131072 characters"),
        ]


def test_docstring_examples_run() -> None:
    from runtime_lib import malformed

    result = doctest.testmod(malformed)
    assert result.failed == 0 and result.attempted > 0
