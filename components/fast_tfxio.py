"""tfx_bsl's TFExampleRecord with a Beam source that reads in blocks and decodes ten times faster.

Why: at 100x the taxi data most of Transform's analysis and of StatisticsGen was getting the
examples into Arrow: decoding them with tfx_bsl and reading them with Beam's TFRecord source
(a Python loop per record; figures: docs/performance.md). ``FastTFExampleRecord`` is the
TFXIO TFX makes for these files (same schema, tensor representations, projection, Arrow
schema); only its Beam source differs: each file is read with tf.data's reader in blocks
and decoded by ``tfx_keras_estimator.components.example_decoder.ExampleDecoder``, which
yields the RecordBatches tfx_bsl's decoder yields. ``faster`` swaps it in for a plain
``TFExampleRecord`` and leaves any
other TFXIO (raw records, other payloads or formats) as it is.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.tfxio import tensor_representation_util, tf_example_record
from tfx_bsl.tfxio import tfxio as tfxio_module

from tfx_keras_estimator.components.example_decoder import ExampleDecoder

# Examples per RecordBatch (tfx_bsl's Beam source makes batches of at most 1,000). Measured on
# The fastest of the sizes tried on Transform at 100x (docs/performance.md).
BLOCK_ROWS = 16384


def record_blocks(patterns: Sequence[str], rows: int) -> tf.data.Dataset:
    """The files' serialized records in blocks of ``rows``, file after file (in name order), once.

    tf.data's TFRecord reader, gzip told from the names as tfx_bsl tells it (all ``*.gz``: gzip;
    none: plain; a mix is an error). Not tfx_bsl's ``make_tf_record_dataset``: it interleaves
    the files record by record through a parallel interleave, whose cost per record made
    reading the training examples of 100x the taxi data several times slower than reading
    the same blocks file after file.
    """
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise ValueError(f'no files match {list(patterns)}')
    gzipped = [path.endswith('.gz') for path in files]
    if any(gzipped) and not all(gzipped):
        raise ValueError(f'the files of {list(patterns)} mix gzipped (*.gz) and plain TFRecords')
    return tf.data.TFRecordDataset(files, compression_type='GZIP' if all(gzipped) else '').batch(rows)


class _ReadAndDecode(beam.DoFn):
    """One file's examples as RecordBatches, decoded as tfx_bsl decodes them."""

    def __init__(self, schema: Optional[schema_pb2.Schema], columns: Optional[Sequence[str]], rows: int) -> None:
        # Serialized, as tfx_bsl's decoding DoFn keeps its schema.
        self._schema = schema.SerializeToString() if schema is not None else None
        self._columns = list(columns) if columns is not None else None
        self._rows = rows
        self._decoder: Optional[ExampleDecoder] = None

    def setup(self) -> None:
        schema = schema_pb2.Schema.FromString(self._schema) if self._schema is not None else None
        self._decoder = ExampleDecoder(schema, self._columns)

    def process(self, path: str) -> Iterator[pa.RecordBatch]:
        for records in record_blocks([path], self._rows).prefetch(1).as_numpy_iterator():
            yield self._decoder.decode(records)


class FastTFExampleRecord(tf_example_record.TFExampleRecord):
    """tfx_bsl's TFExampleRecord whose Beam source reads in blocks and decodes fast.

    ``full_schema``: the schema before projection. The decoder parses all of its features
    (to check each record's length) and keeps the projected ones.
    """

    def __init__(self, file_pattern: List[str], schema: Optional[schema_pb2.Schema] = None,
                 telemetry_descriptors: Optional[List[str]] = None,
                 full_schema: Optional[schema_pb2.Schema] = None) -> None:
        super().__init__(file_pattern=file_pattern, schema=schema, telemetry_descriptors=telemetry_descriptors)
        self._full_schema = full_schema if full_schema is not None else schema

    def _ProjectImpl(self, tensor_names: List[str]) -> tfxio_module.TFXIO:
        projected = tensor_representation_util.ProjectTensorRepresentationsInSchema(self._schema, tensor_names)
        return FastTFExampleRecord(self._file_pattern, projected, self.telemetry_descriptors, self._full_schema)

    def BeamSource(self, batch_size: Optional[int] = None) -> beam.PTransform:
        if self.raw_record_column_name is not None:
            return super().BeamSource(batch_size)
        columns = [f.name for f in self._schema.feature] if self._schema is not None else None
        rows = batch_size or BLOCK_ROWS

        @beam.ptransform_fn
        def source(pipeline: beam.Pipeline) -> beam.PCollection:
            files = sorted({path for pattern in self._file_pattern for path in tf.io.gfile.glob(pattern)})
            return (pipeline
                    | 'Files' >> beam.Create(files)
                    # One file per element, spread over the runner's workers.
                    | 'Spread' >> beam.Reshuffle()
                    | 'ReadAndDecode' >> beam.ParDo(_ReadAndDecode(self._full_schema, columns, rows)))

        return source()


def faster(tfxio: tfxio_module.TFXIO) -> tfxio_module.TFXIO:
    """``FastTFExampleRecord`` for a plain TFExampleRecord without a raw-record column, else ``tfxio``."""
    if type(tfxio) is tf_example_record.TFExampleRecord and tfxio.raw_record_column_name is None:
        # tfx_bsl keeps the patterns only in this attribute.
        return FastTFExampleRecord(list(tfxio._file_pattern), tfxio._schema, tfxio.telemetry_descriptors)
    return tfxio
