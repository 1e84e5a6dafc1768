"""The fast ExampleGen's rows-to-examples rules as a Beam job, for a runner other than the local one.

Under Dataflow, Flink, Spark or a portable runner the conversion must run where that runner
runs, on as many workers as it has: not in the pipeline's pod. Without ``CsvOptions`` the
executor hands the split to TFX's own CsvExampleGen executor (what ours is checked against).
With them (a schema's types, missing tokens: create_pipeline always derives some) no TFX
executor applies its rules, so this job does, with the very functions the local path runs
(``reader.infer_column_types``, ``conversion.file_records``): the same examples in the same
splits, shard files aside.

Each CSV file is one unit of work, read by one worker (pass 1: its column types and rows;
combined over all files: the split's types, as CsvExampleGen infers them over the whole
input; pass 2: its examples, hashed into the splits). A file cannot be cut at a byte offset
and read alone (a quoted value may span lines), so a large input should come as many files;
the runner writes each split's shards with ``WriteToTFRecord``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from tfx_bsl.coders.csv_decoder import ColumnType

from tfx_keras_estimator.components.fast_example_gen import conversion, reader

Types = Dict[str, ColumnType]


def _file_types(path: str, column_names: List[str], block_size: int, fixed: Optional[Mapping[str, ColumnType]],
                missing_tokens: Sequence[str]) -> Tuple[Types, int]:
    return reader.infer_column_types([path], column_names, block_size, fixed, missing_tokens)


class _MergeTypes(beam.CombineFn):
    """Per column the highest type over the files (INT < FLOAT < STRING), and the rows in all."""

    def __init__(self, column_names: List[str], fixed: Optional[Mapping[str, ColumnType]]) -> None:
        self._names = column_names
        self._fixed = dict(fixed or {})

    def create_accumulator(self) -> Tuple[Types, int]:
        return {name: self._fixed.get(name, ColumnType.UNKNOWN) for name in self._names}, 0

    def add_input(self, accumulator: Tuple[Types, int], one: Tuple[Types, int]) -> Tuple[Types, int]:
        (types, rows), (more, count) = accumulator, one
        return {name: max(types[name], more[name]) for name in self._names}, rows + count

    def merge_accumulators(self, accumulators: Sequence[Tuple[Types, int]]) -> Tuple[Types, int]:
        merged = self.create_accumulator()
        for one in accumulators:
            merged = self.add_input(merged, one)
        return merged

    def extract_output(self, accumulator: Tuple[Types, int]) -> Tuple[Types, int]:
        return accumulator


def _checked(merged: Tuple[Types, int], where: str, files: int) -> Types:
    types, rows = merged
    if rows == 0:
        raise ValueError(f'{where}: the {files} file(s) have a header but no data row')
    return types


def _split_records(path: str, job: conversion.ConvertJob, types: Types) -> Iterator[Tuple[int, bytes]]:
    for records, splits in conversion.file_records(dataclasses.replace(job, column_types=types), path):
        yield from zip(splits or [0] * len(records), records, strict=True)


def convert(pipeline: beam.Pipeline, files: Sequence[str], job: conversion.ConvertJob,
            fixed: Optional[Mapping[str, ColumnType]], missing_tokens: Sequence[str], where: str) -> None:
    """Adds the conversion of ``files`` into ``job.split_uris`` to ``pipeline`` (run by the caller).

    ``job.column_types`` is not used: pass 1 of this job decides them.
    """
    # Unique per input split: its output splits' names.
    label = '+'.join(os.path.basename(uri).replace('Split-', '') for uri in job.split_uris)
    names = job.column_names
    paths = (pipeline | f'Files[{label}]' >> beam.Create(list(files))
             # One file per element, spread over the runner's workers.
             | f'Spread[{label}]' >> beam.Reshuffle())
    types = (paths
             | f'FileTypes[{label}]' >> beam.Map(_file_types, names, job.block_size, fixed, missing_tokens)
             | f'ColumnTypes[{label}]' >> beam.CombineGlobally(_MergeTypes(names, fixed))
             | f'CheckRows[{label}]' >> beam.Map(_checked, where, len(files)))
    records = paths | f'ToExamples[{label}]' >> beam.FlatMap(_split_records, job, beam.pvalue.AsSingleton(types))
    parts = records | f'Split[{label}]' >> beam.Partition(lambda item, n: item[0], len(job.split_uris))
    for index, uri in enumerate(job.split_uris):
        name = os.path.basename(uri)
        _ = (parts[index]
             | f'Records[{label}][{name}]' >> beam.Values()
             | f'Write[{label}][{name}]' >> beam.io.WriteToTFRecord(
                 os.path.join(uri, conversion.FILE_NAME), file_name_suffix='.gz',
                 compression_type=CompressionTypes.GZIP))
