"""The fast CSV ExampleGen executor: on the local DirectRunner, one process and no Beam; on any
other runner, a Beam job on that runner.

Under a runner other than the local DirectRunner (``tfx_keras_estimator.components.beam_runners``: Dataflow,
Flink, Spark, a portable runner) nothing is converted in this process: without
``CsvOptions`` TFX's CsvExampleGen executor runs, with them ``beam_job`` (our rules, the
same functions as below, as a Beam job). Each run logs which path ran and why.

Why no Beam locally: turning CSV into gzipped tf.Examples is one pass of I/O and encoding, with
no grouping anywhere. CsvExampleGen spends its time in Beam's per-element overhead (a
Python call per line to read it, parse it, type it, build the proto, hash it, reshuffle
it, serialize it), where Arrow's CSV reader and tfx_bsl's C++ batch encoder do the same
work in about a tenth of the time on one core (docs/performance.md). Here each block of rows
goes through Arrow and C++ as a whole; Python runs per row only for the hash and the
write call.

What it writes is what CsvExampleGen writes, byte for byte up to record order: the same
column types (inferred over the whole input split), the same values, the same split of
each row (SHA-256 of the deterministic serialization modulo the hash buckets, or of the
``partition_feature_name`` feature), gzipped TFRecords under ``Split-<name>/``, and the
artifact's ``split_names``, ``payload_format`` and (when set) ``file_format``. Span,
version and input fingerprint are recorded by ExampleGen's file-based driver, which this
component keeps. Records are written in file order, not shuffled as Beam's Reshuffle
leaves them; downstream readers shuffle with a buffer anyway.

With a ``custom_config`` of ``options.CsvOptions`` (create_pipeline derives one from the
recipe's schema and missing tokens) the columns the schema names take its types instead
of inferred ones, and blank cells and missing tokens (``NA``...) of number columns are
written as missing values: the one departure from CsvExampleGen, which has no such option.

Rows go to several files per split when the split is large, one per ``ROWS_PER_SHARD``
rows: a gzipped file cannot be split, so a downstream Beam job reads each file in one
worker. The files are written one after another, one open at a time per split: memory and
open files stay bounded whatever the input size.

Pass 2 uses several processes where the pipeline's Beam settings give Beam several workers
(``--direct_running_mode=multi_threading`` or ``multi_processing``: ``--direct_num_workers``,
0 for one per core, at most ``MAX_PROCESSES``) and the input is several files of at least
``PARALLEL_MIN_BYTES`` in all: this process and spawned ones (started before pass 1,
so that their TensorFlow imports overlap it) convert equal shares of the bytes, each
writing as many shards of every split, so the shards come out the same size for the
Beam workers downstream. A single file is converted by one process; so is everything
under ``in_memory``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import queue as queue_lib
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import tensorflow as tf
from absl import logging
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions
from google.protobuf import json_format
from tfx import types

# No public tfx.v1 counterparts: ExampleGen's own helpers for split names, the payload and file
# format properties, the executor base class the Beam launcher expects, and CsvExampleGen's
# executor (for a remote runner without CsvOptions).
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs

from tfx_keras_estimator.components.beam_runners import remote_runner, runner_of
from tfx_keras_estimator.components.fast_example_gen import beam_job, conversion, reader
from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions

ROWS_PER_SHARD = 500_000
FILE_NAME = conversion.FILE_NAME
# Below this much CSV one process converts it: a spawned process's TensorFlow import costs more
# than it saves on less (measured: docs/performance.md).
PARALLEL_MIN_BYTES = 256 << 20
# Each process holds TensorFlow (~0.5 GB): four at most, however many cores.
MAX_PROCESSES = 4


class _SplitWriter:
    """Gzipped TFRecord files of one split: this process's shards (``slot``, ``slot + slots``, ...
    of ``num_shards``), written one after another, each closed when it holds ``shard_rows`` rows
    (the last takes any excess): one file open at a time, whatever the input size, so memory and
    open files stay bounded (a gs:// writer stages its file on local disk until it is closed)."""

    def __init__(self, split_uri: str, num_shards: int, slot: int = 0, slots: int = 1,
                 shard_rows: int = ROWS_PER_SHARD) -> None:
        tf.io.gfile.makedirs(split_uri)
        self._paths = [os.path.join(split_uri, f'{FILE_NAME}-{i:05d}-of-{num_shards:05d}.gz')
                       for i in range(slot, num_shards, slots)]
        self._shard_rows = max(1, shard_rows)
        self._writer: Optional[tf.io.TFRecordWriter] = None
        self._opened = 0
        self._in_shard = 0
        self.rows = 0

    def _next(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = tf.io.TFRecordWriter(self._paths[self._opened], tf.io.TFRecordOptions(compression_type='GZIP'))
        self._opened += 1
        self._in_shard = 0

    def write(self, record: bytes) -> None:
        if self._writer is None or (self._in_shard >= self._shard_rows and self._opened < len(self._paths)):
            self._next()
        self._writer.write(record)
        self._in_shard += 1
        self.rows += 1

    def close(self) -> None:
        while self._opened < len(self._paths):  # every shard named -of-N exists, an empty one too
            self._next()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Executor(base_beam_executor.BaseBeamExecutor):
    """CSV files -> gzipped tf.Example splits, as CsvExampleGen's executor writes them."""

    block_size = reader.DEFAULT_BLOCK_SIZE
    parallel_min_bytes = PARALLEL_MIN_BYTES
    max_processes = MAX_PROCESSES

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],  # noqa: N802
           exec_properties: Dict[str, Any]) -> None:
        """Reads the input splits, writes the output splits, sets the artifact's properties."""
        input_config = json_format.Parse(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                                         example_gen_pb2.Input())
        output_config = json_format.Parse(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
                                          example_gen_pb2.Output())
        payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        if payload_format not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE):
            raise ValueError(f'fast CSV ExampleGen writes tf.Examples only; output_data_format is '
                             f'{example_gen_pb2.PayloadFormat.Name(payload_format)}: use tfx.components.CsvExampleGen')
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY,
                                          example_gen_pb2.FILE_FORMAT_UNSPECIFIED)
        if file_format not in (example_gen_pb2.FILE_FORMAT_UNSPECIFIED, example_gen_pb2.FORMAT_TFRECORDS_GZIP):
            raise ValueError(f'fast CSV ExampleGen writes gzipped TFRecords only; output_file_format is {file_format}')
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        # Validates the configs with ExampleGen's own rules and messages.
        split_names = example_gen_utils.generate_output_split_names(input_config, output_config)
        for artifact in examples:  # first: the split folders are found through it
            artifact.split_names = artifact_utils.encode_split_names(split_names)

        if output_config.split_config.splits:
            buckets: Optional[List[int]] = []
            for split in output_config.split_config.splits:
                buckets.append((buckets[-1] if buckets else 0) + split.hash_buckets)
            jobs = [(input_config.splits[0].pattern, split_names)]
        else:
            buckets = None
            jobs = [(split.pattern, [name]) for split, name in zip(input_config.splits, split_names, strict=True)]

        options = CsvOptions.from_custom_config(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
        runner = remote_runner(self._beam_pipeline_args)
        if runner is not None and options is None:
            logging.info("FastCsvExampleGen: TFX's CsvExampleGen executor runs on the Beam runner %s (no CsvOptions: "
                         "CsvExampleGen's rules are the whole job); nothing is converted here.", runner)
            return tfx_csv_executor.Executor(self._context).Do(input_dict, output_dict, exec_properties)
        if runner is not None:
            logging.info('FastCsvExampleGen: a Beam job with our rows-to-examples rules runs on the Beam runner %s '
                         "(the schema's types and missing tokens, which TFX's executor lacks); nothing is converted "
                         'here.', runner)
            with self._make_beam_pipeline() as pipeline:
                for pattern, names in jobs:
                    self._beam_split(pipeline, input_base, pattern, names, buckets, output_config.split_config,
                                     examples, options)
        else:
            logging.info('FastCsvExampleGen: this process converts (the local DirectRunner).')
            for pattern, names in jobs:
                self._convert_split(input_base, pattern, names, buckets, output_config.split_config, examples,
                                    options)

        for artifact in examples:
            if payload_format is not None:
                examples_utils.set_payload_format(artifact, payload_format)
            if file_format:
                examples_utils.set_file_format(artifact, 'tfrecords_gzip')

    def _beam_split(self, pipeline: Any, input_base: str, pattern: str, names: List[str],
                    buckets: Optional[List[int]], split_config: example_gen_pb2.SplitConfig,
                    examples: List[types.Artifact], options: CsvOptions) -> None:
        """One input split, added to ``pipeline`` as a Beam job (``beam_job``): read where the runner runs."""
        files = reader.data_files(input_base, pattern)
        job = conversion.ConvertJob(
            column_names=reader.check_same_header(files), column_types={}, block_size=self.block_size,
            buckets=buckets, missing_tokens=options.missing_tokens,
            partition_feature_name=(split_config.partition_feature_name
                                    if buckets and split_config.HasField('partition_feature_name') else None),
            split_uris=[artifact_utils.get_split_uri(examples, name) for name in names],
            num_shards=[0] * len(names), slots=1)
        beam_job.convert(pipeline, files, job, options.types, options.missing_tokens,
                         os.path.join(input_base, pattern))

    def _convert_split(self, input_base: str, pattern: str, names: List[str], buckets: Optional[List[int]],
                       split_config: example_gen_pb2.SplitConfig, examples: List[types.Artifact],
                       options: Optional[CsvOptions] = None) -> None:
        """One input split: infer types (pass 1), then encode, hash and write (pass 2)."""
        started = time.monotonic()
        files = reader.data_files(input_base, pattern)
        sizes = {path: _size(path) for path in files}  # once: on a bucket each stat is a request
        processes = self._processes(sizes)
        # Started before pass 1, so that their imports overlap it and they share pass 2 from its start.
        with _Helpers(processes - 1) as helpers:
            column_names = reader.check_same_header(files)
            column_types, num_rows = reader.infer_column_types(
                files, column_names, self.block_size, options.types if options else None,
                options.missing_tokens if options else ())
            if num_rows == 0:
                raise ValueError(f'{os.path.join(input_base, pattern)}: the {len(files)} file(s) have a header but '
                                 f'no data row: {", ".join(files)}')
            logging.info('Fast CSV ExampleGen: %d rows in %d file(s) under %s; column types %s (%.1f s)', num_rows,
                         len(files), pattern, {n: t.name for n, t in column_types.items()},
                         time.monotonic() - started)
            total = buckets[-1] if buckets else 1
            shares = ([(b - a) / total for a, b in zip([0] + buckets[:-1], buckets, strict=True)] if buckets
                      else [1.0])
            # A multiple of the processes: each writes as many, of one size, so that Beam's
            # workers downstream (as many as these) get equal shares of the files.
            num_shards = [processes * math.ceil(math.ceil(num_rows * share / ROWS_PER_SHARD) / processes)
                          for share in shares]
            job = conversion.ConvertJob(
                column_names=column_names, column_types=column_types, block_size=self.block_size, buckets=buckets,
                missing_tokens=options.missing_tokens if options else None,
                partition_feature_name=(split_config.partition_feature_name
                                        if buckets and split_config.HasField('partition_feature_name') else None),
                split_uris=[artifact_utils.get_split_uri(examples, name) for name in names],
                num_shards=num_shards,
                shard_rows=[math.ceil(num_rows * share / n) for share, n in zip(shares, num_shards, strict=True)],
                slots=processes)
            if job.partition_feature_name:
                conversion.partition_keys(job.partition_feature_name, column_types)  # its errors before pass 2
            rows = helpers.convert(job, sizes)
        if sum(rows) != num_rows:
            raise RuntimeError(f'Fast CSV ExampleGen read {num_rows} rows in pass 1 but wrote {sum(rows)}')
        seconds = time.monotonic() - started
        counts = ', '.join(f'{name} {n}' for name, n in zip(names, rows, strict=True))
        logging.info('Fast CSV ExampleGen: wrote %s in %.1f s (%.0f rows/s, %d process(es))', counts, seconds,
                     num_rows / seconds, processes)

    def _processes(self, sizes: Mapping[str, int]) -> int:
        return processes_for(self._beam_pipeline_args, sizes, self.parallel_min_bytes, self.max_processes)


# Beam modes with a worker per core. Under multi_threading too: the helpers live only while
# ExampleGen runs (~0.5 GB each), below what the Beam components then take in threads.
PARALLEL_MODES = ('multi_processing', 'multi_threading')


def processes_for(beam_pipeline_args: Sequence[str], sizes: Mapping[str, int], min_bytes: int = PARALLEL_MIN_BYTES,
                  max_processes: int = MAX_PROCESSES) -> int:
    """Pass 2's processes: as many as Beam's DirectRunner runs workers (processes or threads), at most one
    per file (``sizes``: bytes by path) and ``max_processes``; one below ``min_bytes`` of CSV."""
    direct = PipelineOptions(list(beam_pipeline_args)).view_as(DirectOptions)
    if (not runner_of(beam_pipeline_args).local or direct.direct_running_mode not in PARALLEL_MODES
            or len(sizes) < 2 or sum(sizes.values()) < min_bytes):
        return 1
    workers = direct.direct_num_workers or len(os.sched_getaffinity(0))
    return max(1, min(len(sizes), max_processes, workers))


def _size(path: str) -> int:
    return tf.io.gfile.stat(path).length


def _convert_files(job: conversion.ConvertJob, slot: int, files: Iterable[str]) -> List[int]:
    """Pass 2 over ``files`` into this slot's shards: rows written per split."""
    shard_rows = job.shard_rows or [ROWS_PER_SHARD] * len(job.split_uris)
    writers = [_SplitWriter(uri, n, slot, job.slots, rows)
               for uri, n, rows in zip(job.split_uris, job.num_shards, shard_rows, strict=True)]
    try:
        for path in files:
            for records, splits in conversion.file_records(job, path):
                if splits is None:
                    write = writers[0].write
                    for record in records:
                        write(record)
                    continue
                for split, record in zip(splits, records, strict=True):
                    writers[split].write(record)
    finally:
        for writer in writers:
            writer.close()
    return [w.rows for w in writers]


def _worker(slot: int, jobs: Any, results: Any) -> None:
    """A spawned process's pass 2: its job and its files, or None where the parent stopped first."""
    try:
        given = jobs.get()
        if given is not None:
            job, files = given
            results.put((slot, _convert_files(job, slot, files), None))
    except Exception as e:  # noqa: BLE001 (handed to the parent, which raises it)
        try:
            pickle.loads(pickle.dumps(e))
        except Exception:  # noqa: BLE001 (an exception that cannot travel: its text does)
            e = RuntimeError(f'{type(e).__name__}: {e}')
        results.put((slot, None, e))


def share_out(files: Sequence[str], parts: int, size: Callable[[str], int]) -> List[List[str]]:
    """Files in ``parts`` groups of about equal bytes (largest first, each to the lightest group):
    each process then writes about the same rows, so its shards are the same size as the others'."""
    groups: List[List[str]] = [[] for _ in range(parts)]
    loads = [0] * parts
    for path in sorted(files, key=size, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(path)
        loads[lightest] += size(path)
    return groups


class _Helpers:
    """Spawned processes (not forked: TensorFlow is loaded) for slots 1.. of pass 2, this process
    slot 0. Started before pass 1, so that their imports overlap it; each converts its share of
    the files (equal bytes, not a queue: a queue would give this process more, as it starts
    first, and its shards would be bigger, and Beam's workers downstream uneven)."""

    def __init__(self, count: int) -> None:
        self._processes: List[Any] = []
        if count < 1:
            return
        context = multiprocessing.get_context('spawn')
        self._jobs, self._results = context.Queue(), context.Queue()
        self._processes = [context.Process(target=_worker, args=(slot, self._jobs, self._results), daemon=True,
                                           name=f'fast-example-gen-{slot}')
                           for slot in range(1, count + 1)]
        for process in self._processes:
            process.start()

    def __enter__(self) -> '_Helpers':
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def convert(self, job: conversion.ConvertJob, sizes: Mapping[str, int]) -> List[int]:
        """Pass 2 of the files (``sizes``: bytes by path) over this process and the helpers: rows
        written per split."""
        if job.slots != len(self._processes) + 1:
            raise ValueError(f'a job for {job.slots} slots given to {len(self._processes) + 1} processes')
        if not self._processes:
            return _convert_files(job, 0, list(sizes))
        mine, *theirs = share_out(list(sizes), job.slots, sizes.__getitem__)
        for share in theirs:
            self._jobs.put((job, share))  # any helper may take any share: each file is in one
        started = time.monotonic()
        rows = _convert_files(job, 0, mine)
        logging.info('Fast CSV ExampleGen: this process wrote its share in %.1f s', time.monotonic() - started)
        pending = {p.name: p for p in self._processes}
        while pending:
            try:
                slot, counts, error = self._results.get(timeout=5)
            except queue_lib.Empty:
                dead = [p for p in pending.values() if not p.is_alive()]
                if dead:
                    raise RuntimeError(f'{dead[0].name} exited with code {dead[0].exitcode} before it '
                                       'reported') from None
                continue
            if error is not None:
                raise error
            pending.pop(f'fast-example-gen-{slot}')
            logging.info('Fast CSV ExampleGen: helper %d reported after %.1f s', slot, time.monotonic() - started)
            rows = [a + b for a, b in zip(rows, counts, strict=True)]
        return rows

    def close(self) -> None:
        if not self._processes:
            return
        for _ in self._processes:
            self._jobs.put(None)  # for a helper still waiting for its job
        for process in self._processes:
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
                process.join()
        for channel in (self._jobs, self._results):
            channel.cancel_join_thread()  # what is left in them is for nobody
