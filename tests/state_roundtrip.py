"""What a checkpoint gives back of an operator's snapshot: the tests restore
from this, never from the live dict.

``roundtrip(data)`` checks ``data`` against the state rules
(``runtime_lib.state.check_state``), then writes it as a checkpoint does:
numpy arrays as ``.npy`` without pickle, everything else as JSON, and reads
it back. The copy shares nothing with the operator."""

from __future__ import annotations

import io
import json

import numpy as np

from runtime_lib.state import check_state


def roundtrip(data: dict) -> dict:
    check_state(data)
    arrays: list[bytes] = []

    def encode(value):
        if isinstance(value, np.ndarray):
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            arrays.append(buffer.getvalue())
            return {"$array": len(arrays) - 1}
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [encode(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    def decode(value):
        if isinstance(value, dict):
            if "$array" in value:
                return np.load(io.BytesIO(arrays[value["$array"]]), allow_pickle=False)
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(json.loads(json.dumps(encode(data))))
