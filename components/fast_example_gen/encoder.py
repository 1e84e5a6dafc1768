"""List columns -> canonically serialized tf.Examples, in C++ and numpy.

ExampleGen's hash split keys each row by ``example.SerializeToString(deterministic=True)``:
the features in key order. tfx_bsl's ``RecordBatchToExamples`` encodes a whole batch in
C++ but through a proto map, whose order varies from row to row, so its bytes cannot be
hashed as they are, and parsing each one back to re-serialize it costs 20 us a row (more
than everything else together). Instead each column is encoded on its own (one feature
per example, so one order), and numpy splices those one-feature examples into one
example per row with the features in key order: exactly the deterministic serialization,
which is also what is written.

Wire format used: ``Example = 0x0a varint(len) Features``; ``Features = (0x0a varint(len)
MapEntry)*``; a one-feature example is therefore ``0x0a varint(len)`` + the one entry of
``Features``, and an n-feature one is ``0x0a varint(total)`` + the n entries.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import pyarrow as pa
from tfx_bsl.coders import example_coder

_FIELD_1 = 0x0A  # field 1, length-delimited: Example.features and Features.feature alike


def _buffers(encoded: pa.Array) -> Tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a large_binary array, as numpy views."""
    offsets = np.frombuffer(encoded.buffers()[1], dtype=np.int64)[encoded.offset:encoded.offset + len(encoded) + 1]
    data = np.frombuffer(encoded.buffers()[2], dtype=np.uint8)
    return offsets, data


def _varint_lengths(values: np.ndarray) -> np.ndarray:
    lengths = np.ones(len(values), dtype=np.int64)
    rest = values >> 7
    while (rest > 0).any():
        lengths += rest > 0
        rest >>= 7
    return lengths


def _entries(encoded: pa.Array) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, length, data): where each one-feature example's map entry field lies in ``data``."""
    offsets, data = _buffers(encoded)
    starts = offsets[:-1].copy()
    ends = offsets[1:]
    if len(starts) and not (data[starts] == _FIELD_1).all():
        raise ValueError('tfx_bsl encoded an example that does not start with its features field')
    # Skip the tag and the varint of Example.features' length.
    cursor = starts + 1
    continues = data[cursor] >= 0x80
    while continues.any():
        cursor = cursor + continues
        continues = continues & (data[cursor] >= 0x80)
    starts = cursor + 1
    return starts, ends - starts, data


def _splice(pieces: List[Tuple[np.ndarray, np.ndarray, np.ndarray]], num_rows: int) -> pa.Array:
    """One example per row: ``0x0a varint(total)`` + each piece's bytes of that row, in order."""
    total = np.zeros(num_rows, dtype=np.int64)
    for _, lengths, _ in pieces:
        total += lengths
    varint_lengths = _varint_lengths(total)
    offsets = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(1 + varint_lengths + total, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    heads = offsets[:-1]
    out[heads] = _FIELD_1
    rest = total.copy()
    for j in range(int(varint_lengths.max(initial=0))):
        has = varint_lengths > j
        more = np.where(varint_lengths > j + 1, 0x80, 0)
        out[heads[has] + 1 + j] = ((rest & 0x7F) | more)[has].astype(np.uint8)
        rest >>= 7
    cursor = heads + 1 + varint_lengths
    for starts, lengths, data in pieces:
        before = np.zeros(num_rows, dtype=np.int64)
        np.cumsum(lengths[:-1], out=before[1:])
        step = np.arange(int(lengths.sum()), dtype=np.int64)
        out[np.repeat(cursor - before, lengths) + step] = data[np.repeat(starts - before, lengths) + step]
        cursor = cursor + lengths
    return pa.Array.from_buffers(pa.large_binary(), num_rows, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


class CanonicalExampleEncoder:
    """Encodes a batch of list columns as deterministic serialized tf.Examples."""

    def __init__(self) -> None:
        self._encoder = example_coder.RecordBatchToExamplesEncoder()

    def encode_column(self, name: str, column: pa.Array) -> pa.Array:
        """One-feature serialized examples of one column (large_binary)."""
        batch = pa.RecordBatch.from_arrays([column], [name])
        return pa.array(self._encoder.encode(batch), pa.large_binary())

    def encode(self, columns: Dict[str, pa.Array]) -> Tuple[List[bytes], Dict[str, pa.Array]]:
        """(serialized examples, each column's one-feature examples), features in key order.

        Deterministic serialization orders map keys by their bytes; Python's ``sorted`` on
        str orders by code point, the same order for UTF-8.
        """
        if not columns:
            raise ValueError('an example needs at least one column')
        num_rows = len(next(iter(columns.values())))
        single = {name: self.encode_column(name, columns[name]) for name in sorted(columns)}
        examples = _splice([_entries(encoded) for encoded in single.values()], num_rows)
        return examples.to_pylist(), single
