"""Serialized tf.Examples to the Arrow RecordBatches tfx_bsl decodes them into, ten times faster.

Why: tfx_bsl's ``ExamplesToRecordBatchDecoder`` (what TFXIO, and so StatisticsGen and
Transform, decode with) parses each example into a protobuf message first: on the taxi
data that was most of StatisticsGen's and Transform's time at 100x, far more than TFDV's
statistics. TensorFlow's example parser (``tf.io.parse_example``, the one ``tf.data`` input
uses) reads the same examples about ten times faster (figures: docs/performance.md).

The parser cannot tell a feature that is absent from one present with an empty list (tfx_bsl
decodes the first as null, the second as ``[]``; CsvExampleGen writes an empty cell as the
second), and it skips features it is not asked for. So each record's length is checked
against the length of the canonical encoding (protobuf's, as tf.Example serializers write
it) of what was parsed from it, with the features without values either all absent or all
present with empty lists: equal, the record holds those features and nothing else. A block
with any other record (some features absent and some empty, a feature the parser was not
given, a non-canonical encoding) or a type the parser refuses is decoded by tfx_bsl
itself; ``exact_blocks`` counts those blocks. (What the length cannot tell: the kind of an
empty list, read as the feature's.)
``tests/components/test_example_decoder.py`` compares both decoders' RecordBatches.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import example_coder

# Without a schema the features and their types are learned from this many records first.
SAMPLE_ROWS = 1024

_DTYPES = {schema_pb2.INT: tf.int64, schema_pb2.FLOAT: tf.float32, schema_pb2.BYTES: tf.string}
_ARROW = {tf.int64: pa.large_list(pa.int64()), tf.float32: pa.large_list(pa.float32()),
          tf.string: pa.large_list(pa.large_binary())}
_FROM_ARROW = {v: k for k, v in _ARROW.items()}
# The upper bounds (exclusive) of the 1- to 9-byte varints; anything above takes 10 bytes.
_VARINT_BOUNDS = np.array([1 << (7 * i) for i in range(1, 10)], dtype=np.uint64)


def varint_size(values: np.ndarray) -> np.ndarray:
    """Bytes of each value's protobuf varint (negative int64s take ten, as protobuf writes them)."""
    return np.searchsorted(_VARINT_BOUNDS, values.astype(np.int64).view(np.uint64), side='right') + 1


def _per_row(sizes: np.ndarray, splits: np.ndarray) -> np.ndarray:
    total = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    return total[splits[1:]] - total[splits[:-1]]


def _field(content: np.ndarray) -> np.ndarray:
    """Bytes of a length-delimited field (one-byte tag, length, content) holding ``content`` bytes."""
    return 1 + varint_size(content) + content


def encoded_sizes(name: str, dtype: tf.DType, values: np.ndarray | bytes, splits: np.ndarray,
                  value_lengths: Optional[np.ndarray]) -> Tuple[np.ndarray, int]:
    """The bytes a feature's entry takes in a canonical tf.Example's Features, per row that has
    values (0 in the others), and the bytes of its entry with an empty list."""
    counts = np.diff(splits)
    if dtype == tf.float32:
        # A packed FloatList: tag, length, 4 bytes a value.
        payload = _field(4 * counts)
    elif dtype == tf.int64:
        payload = _field(_per_row(varint_size(values), splits))
    else:
        # A BytesList: tag, length, bytes for each value.
        payload = _per_row(_field(value_lengths.astype(np.int64)), splits)
    key = len(name.encode())
    key_field = 1 + int(varint_size(np.array([key]))[0]) + key
    # Feature {kind: list}, the map entry {key, value: Feature}, and the entry's field in Features.
    sizes = np.where(counts > 0, _field(key_field + _field(_field(payload))), 0)
    empty = int(_field(np.array([key_field + _field(np.array([2]))[0]]))[0])
    return sizes, empty


class ExampleDecoder:
    """Decodes blocks of serialized tf.Examples into tfx_bsl's RecordBatches.

    ``schema``: decode as tfx_bsl does with it (its features and types, absent ones null);
    without one, as tfx_bsl does without (every feature seen, types from the values, columns
    in name order). ``columns``: keep only these (a projection of the schema's features;
    the rest are still parsed, for the length check).
    """

    def __init__(self, schema: Optional[schema_pb2.Schema] = None, columns: Optional[Sequence[str]] = None) -> None:
        self._schema = schema
        self._columns = frozenset(columns) if columns is not None else None
        exact_schema = schema
        if schema is not None and columns is not None:
            exact_schema = schema_pb2.Schema()
            exact_schema.CopyFrom(schema)
            del exact_schema.feature[:]
            exact_schema.feature.extend(f for f in schema.feature if f.name in self._columns)
        self._exact = (example_coder.ExamplesToRecordBatchDecoder(exact_schema.SerializeToString())
                       if exact_schema is not None else example_coder.ExamplesToRecordBatchDecoder())
        self._spec: Optional[Dict[str, tf.DType]] = None
        if schema is not None and all(f.type in _DTYPES for f in schema.feature):
            self._spec = {f.name: _DTYPES[f.type] for f in schema.feature}
        self._parse = _parser(self._spec) if self._spec is not None else None
        self._types_vary = False
        # Blocks decoded by tfx_bsl (see the module's docstring), and all blocks.
        self.exact_blocks = 0
        self.blocks = 0

    def decode(self, records: np.ndarray) -> pa.RecordBatch:
        """One block of serialized examples (a numpy array of bytes) as a RecordBatch."""
        self.blocks += 1
        if self._schema is None and self._spec is None and not self._types_vary:
            self._learn(self._exact.DecodeBatch(list(records[:SAMPLE_ROWS])).schema)
        if self._spec is None:
            return self._exact_block(records)
        try:
            lengths, parsed = self._parse(records)
        except tf.errors.InvalidArgumentError:
            return self._exact_block(records)
        # Per row: the features with values, and the entries of those without had they empty lists.
        filled = np.zeros(len(records), dtype=np.int64)
        empties = np.zeros(len(records), dtype=np.int64)
        for name, dtype in self._spec.items():
            values, splits, value_lengths = parsed[name]
            sizes, empty = encoded_sizes(name, dtype, values, splits, value_lengths)
            filled += sizes
            empties += np.where(sizes == 0, empty, 0)
        # Rows whose features without values are all absent, or all present with empty lists (as
        # CsvExampleGen writes empty cells); Features is the Example's one field.
        absent = lengths == np.where(filled > 0, _field(filled), 0)
        present = (empties > 0) & (lengths == _field(filled + empties))
        if not np.all(absent | present | ((filled + empties == 0) & (lengths == 2))):
            return self._exact_block(records)
        names = sorted(self._spec) if self._schema is None else [f.name for f in self._schema.feature]
        if self._columns is not None:
            names = [n for n in names if n in self._columns]
        arrays = [self._array(self._spec[n], *parsed[n], present) for n in names]
        if self._schema is None:
            # Without a schema tfx_bsl has a column only for the features this block holds.
            kept = [i for i, array in enumerate(arrays) if array.null_count < len(array)]
            names, arrays = [names[i] for i in kept], [arrays[i] for i in kept]
        if not arrays:
            # Rows but no columns: Arrow cannot say how many rows from the arrays; tfx_bsl can.
            return self._exact_block(records)
        return pa.RecordBatch.from_arrays(arrays, names)

    @staticmethod
    def _array(dtype: tf.DType, values: np.ndarray | bytes, splits: np.ndarray, value_lengths: np.ndarray,
               empty_lists: np.ndarray) -> pa.Array:
        value_type = _ARROW[dtype].value_type
        if dtype == tf.string:
            # ``values`` is the feature's values joined into one buffer (see ``_parser``): Arrow's
            # binary layout as it is, its offsets from the lengths, no Python object per value.
            offsets = np.zeros(len(value_lengths) + 1, dtype=np.int64)
            np.cumsum(value_lengths, out=offsets[1:])
            items = pa.LargeBinaryArray.from_buffers(value_type, len(value_lengths),
                                                     [None, pa.py_buffer(offsets), pa.py_buffer(values)])
        else:
            items = pa.array(values, type=value_type)
        return pa.LargeListArray.from_arrays(pa.array(splits, pa.int64()), items,
                                             mask=pa.array((np.diff(splits) == 0) & ~empty_lists))

    def _exact_block(self, records: np.ndarray) -> pa.RecordBatch:
        self.exact_blocks += 1
        batch = self._exact.DecodeBatch(list(records))
        if self._schema is None and not self._types_vary:
            self._learn(batch.schema)
        return batch

    def _learn(self, arrow_schema: pa.Schema) -> None:
        """Adds the features tfx_bsl found (without a schema) to what the parser reads."""
        spec = dict(self._spec or {})
        for field in arrow_schema:
            dtype = _FROM_ARROW.get(field.type)
            if dtype is not None and spec.setdefault(field.name, dtype) != dtype:
                # A type that differs between blocks: tfx_bsl decodes the rest, as it types each block.
                self._types_vary = True
                self._spec, self._parse = None, None
                return
        if spec != self._spec:
            self._spec = spec
            self._parse = _parser(spec)


def _parser(spec: Dict[str, tf.DType]):
    """A graph that parses the features (values, for strings one buffer of them all; row splits; byte
    lengths) and each record's length."""
    features = {name: tf.io.RaggedFeature(dtype, row_splits_dtype=tf.int64) for name, dtype in spec.items()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def parse(records: tf.Tensor) -> Tuple[tf.Tensor, Dict[str, Tuple[tf.Tensor, ...]]]:
        parsed = tf.io.parse_example(records, features)
        out = {}
        for name, dtype in spec.items():
            ragged = parsed[name]
            if dtype == tf.string:
                # One buffer of all the values and their lengths (``ExampleDecoder._array``): a
                # string tensor's numpy() makes a Python object of every value.
                out[name] = (tf.strings.reduce_join(ragged.values), ragged.row_splits,
                             tf.strings.length(ragged.values))
            else:
                out[name] = (ragged.values, ragged.row_splits, tf.zeros([0], tf.int32))
        return tf.strings.length(records), out

    def run(records: np.ndarray) -> Tuple[np.ndarray, Dict[str, List[np.ndarray | bytes]]]:
        lengths, out = parse(tf.constant(records, tf.string))
        return lengths.numpy(), {name: [t.numpy() for t in tensors] for name, tensors in out.items()}

    return run
