"""The fast decoder yields tfx_bsl's RecordBatches: on the taxi examples, and on awkward records
where it must hand the block to tfx_bsl (empty lists beside absent features, unknown features,
non-canonical encodings, types that change)."""

from __future__ import annotations

import glob
from typing import List, Optional

import numpy as np
import pyarrow as pa
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import example_coder

from tfx_keras_estimator.components import example_decoder
from tfx_keras_estimator.components.example_decoder import ExampleDecoder
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.data import load_schema


def tfx_bsl(records, schema: Optional[schema_pb2.Schema] = None) -> pa.RecordBatch:
    decoder = (example_coder.ExamplesToRecordBatchDecoder(schema.SerializeToString()) if schema is not None
               else example_coder.ExamplesToRecordBatchDecoder())
    return decoder.DecodeBatch(list(records))


def example(**features) -> bytes:
    def feature(values):
        if isinstance(values, tf.train.Feature):
            return values
        if values is None:
            return tf.train.Feature()
        if values and isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if values and isinstance(values[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in features.items()})).SerializeToString()


def blocks(records: List[bytes], size: int) -> List[np.ndarray]:
    return [np.array(records[i:i + size], dtype=object) for i in range(0, len(records), size)]


@pytest.fixture(scope='module')
def taxi_records(taxi_examples) -> List[bytes]:
    files = sorted(glob.glob(f'{taxi_examples.uri}/Split-*/*'))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type='GZIP')]


@pytest.mark.parametrize('with_schema', [False, True])
def test_taxi_examples_decode_as_tfx_bsl_decodes_them_without_falling_back(taxi_records, with_schema):
    schema = load_schema(get_recipe('taxi').schema_path) if with_schema else None
    decoder = ExampleDecoder(schema)
    for block in blocks(taxi_records, 4096):
        assert decoder.decode(block).equals(tfx_bsl(block, schema))
    assert decoder.blocks == 4 and decoder.exact_blocks == 0
    # Empty cells are empty lists, and both kinds of row are there.
    batch = decoder.decode(blocks(taxi_records, 4096)[0])
    company = batch.column(batch.schema.names.index('company')).to_pylist()
    assert [] in company and any(company)


def test_a_projection_keeps_only_its_columns(taxi_records):
    schema = load_schema(get_recipe('taxi').schema_path)
    projected = schema_pb2.Schema()
    projected.feature.extend(f for f in schema.feature if f.name in ('fare', 'company', 'trip_start_hour'))
    decoder = ExampleDecoder(schema, ['fare', 'company', 'trip_start_hour'])
    block = blocks(taxi_records, 5000)[0]
    assert decoder.decode(block).equals(tfx_bsl(block, projected))
    assert decoder.exact_blocks == 0


EMPTY_FLOATS = tf.train.Feature(float_list=tf.train.FloatList())
EMPTY_BYTES = tf.train.Feature(bytes_list=tf.train.BytesList())
# Records, and how many blocks tfx_bsl must decode (0: the length check accepts every record).
AWKWARD = {
    'values of every kind, negative and huge ints, empty bytes': ([
        example(i=[-1, 0, 2 ** 40, -2 ** 63], f=[1.5, -0.0], b=[b'', b'caf\xc3\xa9', b'x' * 300]),
        example(i=[7], b=[b'y']), example(f=[2.0]), b''], 0),
    'all missing cells absent in one row, all empty in another': ([
        example(i=[1], f=[1.0], b=[b'a']), example(i=[], f=EMPTY_FLOATS, b=EMPTY_BYTES), example(i=[3])], 0),
    'one row with a feature absent and another empty': ([example(i=[1], f=[1.0]), example(i=[])], 1),
    'a feature without a kind': ([example(i=[1]), example(i=None)], 1),
    'a feature only in the last row': ([example(i=[1])] * 3 + [example(i=[2], late=[b'z'])], 0),
}


@pytest.mark.parametrize('case', sorted(AWKWARD))
def test_awkward_records_decode_as_tfx_bsl_decodes_them(case):
    records, exact_blocks = AWKWARD[case]
    decoder = ExampleDecoder()
    got = decoder.decode(np.array(records, dtype=object))
    assert got.equals(tfx_bsl(records)), (got.to_pydict(), tfx_bsl(records).to_pydict())
    assert decoder.exact_blocks == exact_blocks


def test_features_seen_later_are_learned_for_the_next_blocks(monkeypatch):
    monkeypatch.setattr(example_decoder, 'SAMPLE_ROWS', 2)
    first = [example(i=[1]), example(i=[2]), example(i=[3], late=[b'z'])]
    decoder = ExampleDecoder()
    assert decoder.decode(np.array(first, dtype=object)).equals(tfx_bsl(first))
    assert decoder.exact_blocks == 1
    second = [example(i=[4], late=[b'w']), example(i=[5])]
    assert decoder.decode(np.array(second, dtype=object)).equals(tfx_bsl(second))
    # A block without it has no column for it, as in tfx_bsl's.
    third = [example(i=[6])]
    assert decoder.decode(np.array(third, dtype=object)).equals(tfx_bsl(third))
    assert decoder.exact_blocks == 1


def test_a_type_that_changes_between_blocks_is_left_to_tfx_bsl():
    decoder = ExampleDecoder()
    decoder.decode(np.array([example(v=[1])], dtype=object))
    floats = [example(v=[1.5])]
    assert decoder.decode(np.array(floats, dtype=object)).equals(tfx_bsl(floats))
    assert decoder.exact_blocks == 1


def test_a_feature_outside_the_schema_or_an_unpacked_list_goes_to_tfx_bsl():
    schema = schema_pb2.Schema()
    schema.feature.add(name='i', type=schema_pb2.INT)
    extra = [example(i=[1], other=[2.0])]
    decoder = ExampleDecoder(schema)
    assert decoder.decode(np.array(extra, dtype=object)).equals(tfx_bsl(extra, schema))
    assert decoder.exact_blocks == 1
    # Int64List {value: 5} unpacked (field 1, varint): valid protobuf, not what serializers write.
    entry = b'\n\x01i' + b'\x12\x04' + b'\x1a\x02' + b'\x08\x05'
    unpacked = [b'\n' + bytes([len(entry) + 2]) + b'\n' + bytes([len(entry)]) + entry]
    assert tf.train.Example.FromString(unpacked[0]).features.feature['i'].int64_list.value == [5]
    assert decoder.decode(np.array(unpacked, dtype=object)).equals(tfx_bsl(unpacked, schema))
    assert decoder.exact_blocks == 2


def test_varint_sizes_are_protobufs():
    values = np.array([0, 1, 127, 128, 2 ** 14 - 1, 2 ** 14, 2 ** 35, 2 ** 63 - 1, -1, -2 ** 63], dtype=np.int64)
    expected = [len(tf.train.Int64List(value=[int(v)]).SerializeToString()) - 2 for v in values]
    assert example_decoder.varint_size(values).tolist() == expected
