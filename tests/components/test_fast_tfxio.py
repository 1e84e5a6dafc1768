"""The fast TFXIO's Beam source yields the rows tfx_bsl's TFExampleRecord yields, projected alike."""

from __future__ import annotations

from typing import List

import apache_beam as beam
import pyarrow as pa
import pytest
from tfx_bsl.tfxio import tf_example_record

from tfx_keras_estimator.components import fast_tfxio
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.data import load_schema

COLUMNS = ['company', 'fare', 'trip_start_hour']


def rows(batches: List[pa.RecordBatch]) -> List[tuple]:
    table = pa.Table.from_batches(batches)
    return sorted(zip(*[table.column(n).to_pylist() for n in table.schema.names], strict=True), key=repr)


# What the pipeline's last step saw (a module global: Beam pickles the step by reference).
_SEEN: List[pa.RecordBatch] = []


def _see(batch: pa.RecordBatch) -> None:
    _SEEN.append(batch)


def read(tfxio) -> List[pa.RecordBatch]:
    _SEEN.clear()
    with beam.Pipeline(argv=['--direct_running_mode=in_memory']) as pipeline:
        _ = pipeline | tfxio.BeamSource() | beam.Map(_see)
    return list(_SEEN)


@pytest.fixture(scope='module')
def pattern(taxi_examples) -> str:
    return f'{taxi_examples.uri}/Split-train/*'


@pytest.mark.parametrize('with_schema', [False, True])
def test_the_same_rows_as_tfx_bsl(pattern, with_schema):
    schema = load_schema(get_recipe('taxi').schema_path) if with_schema else None
    theirs = tf_example_record.TFExampleRecord(pattern, schema=schema)
    ours = fast_tfxio.faster(theirs)
    assert isinstance(ours, fast_tfxio.FastTFExampleRecord)
    got, expected = read(ours), read(theirs)
    assert rows(got) == rows(expected) and len(rows(got)) > 9000
    # Blocks of BLOCK_ROWS, not tfx_bsl's batches of at most 1,000.
    assert max(b.num_rows for b in got) > 1000
    if with_schema:
        assert ours.ArrowSchema() == theirs.ArrowSchema()


def test_a_projection_reads_only_its_columns(pattern):
    schema = load_schema(get_recipe('taxi').schema_path)
    theirs = tf_example_record.TFExampleRecord(pattern, schema=schema)
    ours = fast_tfxio.faster(theirs).Project(COLUMNS)
    got = read(ours)
    assert sorted(got[0].schema.names) == COLUMNS
    assert rows(got) == rows(read(theirs.Project(COLUMNS)))
    assert ours.TensorAdapterConfig().tensor_representations.keys() == set(COLUMNS)


def test_other_tfxios_are_left_as_they_are(pattern):
    raw = tf_example_record.TFExampleRecord(pattern, raw_record_column_name='raw')
    assert fast_tfxio.faster(raw) is raw


def _write(path, records, gzipped):
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path), options='GZIP' if gzipped else None) as writer:
        for record in records:
            writer.write(record)


def test_record_blocks_reads_file_after_file_in_blocks(tmp_path):
    _write(tmp_path / 'b.gz', [b'b0', b'b1', b'b2'], gzipped=True)
    _write(tmp_path / 'a.gz', [b'a0', b'a1'], gzipped=True)
    blocks = [b.tolist() for b in fast_tfxio.record_blocks([str(tmp_path / '*')], 2).as_numpy_iterator()]
    assert blocks == [[b'a0', b'a1'], [b'b0', b'b1'], [b'b2']]
    _write(tmp_path / 'plain', [b'p0'], gzipped=False)
    [plain] = fast_tfxio.record_blocks([str(tmp_path / 'plain')], 10).as_numpy_iterator()
    assert plain.tolist() == [b'p0']


def test_record_blocks_refuses_a_mix_of_gzipped_and_plain_files_and_no_files(tmp_path):
    _write(tmp_path / 'a.gz', [b'a0'], gzipped=True)
    _write(tmp_path / 'b', [b'b0'], gzipped=False)
    with pytest.raises(ValueError, match='mix gzipped'):
        fast_tfxio.record_blocks([str(tmp_path / '*')], 2)
    with pytest.raises(ValueError, match='no files match'):
        fast_tfxio.record_blocks([str(tmp_path / 'none-*')], 2)
