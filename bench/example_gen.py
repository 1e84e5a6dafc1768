"""CSV -> tf.Examples: TFX's CsvExampleGen executor vs the fast one, on the same data.

Makes ``--copies`` copies of the taxi recipe's CSV (15k rows each) as separate files in
one folder (the pipeline reads ``*.csv`` under its data folder), runs both executors'
``Do()`` with the pipeline's output_config (hash buckets train 2 / eval 1), and prints
rows/s and the ratio. ``--limit`` adds the raw floor: pyarrow's CSV reader (its own type
inference) and tfx_bsl's ``RecordBatchToExamples`` writing one gzipped TFRecord file,
with no type inference across files, no hashing, no split. ``--ours-only`` skips TFX's
executor (it takes minutes from about 100 copies up). ``--processes N`` (N > 1) also
times ours as it runs under the pipeline's multi_processing Beam mode with N workers:
pass 2 shared out over N processes (the limit stays one core's). ``--peak-rss 100,1000``
runs ours alone, in a fresh process per size, on each number of copies, and prints its
peak resident memory (``--json FILE`` keeps the figures): bounded means the same at 1,000x
as at 100x.

    .venv/bin/python bench/example_gen.py [--copies 10] [--ours-only] [--limit] [--processes N] [--work DIR]
    .venv/bin/python bench/example_gen.py --peak-rss 100,1000 [--json bench/example_gen_rss.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import pyarrow as pa
import pyarrow.csv as pacsv
import tensorflow as tf
from google.protobuf import json_format
from tfx import v1 as tfx

# TFX's own CsvExampleGen executor, timed as the reference; no public tfx.v1 name for it.
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.proto import example_gen_pb2
from tfx_bsl.coders import example_coder

from tfx_keras_estimator.components.fast_example_gen import Executor as FastExecutor
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.local_runner import source_setup_file

BEAM_ARGS = ['--direct_running_mode=in_memory', '--direct_num_workers=1']


def make_data(folder: Path, copies: int) -> int:
    """``copies`` files, each the taxi CSV; returns the number of data rows."""
    source = get_recipe('taxi').data_dir / 'chicago_taxi.csv'
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        shutil.copy(source, folder / f'taxi_{i:04d}.csv')
    with source.open() as f:
        rows = sum(1 for line in f if line.strip()) - 1
    return rows * copies


def exec_properties(input_base: Path) -> dict:
    output = tfx.proto.Output(split_config=tfx.proto.SplitConfig(splits=[
        tfx.proto.SplitConfig.Split(name='train', hash_buckets=2),
        tfx.proto.SplitConfig.Split(name='eval', hash_buckets=1)]))
    return {
        'input_base': str(input_base),
        'input_config': json_format.MessageToJson(tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name='single_split', pattern='*.csv')]), preserving_proto_field_name=True),
        'output_config': json_format.MessageToJson(output, preserving_proto_field_name=True),
        'output_data_format': example_gen_pb2.FORMAT_TF_EXAMPLE,
        'output_file_format': example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }


def run_executor(executor, input_base: Path, out: Path) -> None:
    examples = tfx.types.standard_artifacts.Examples()
    examples.uri = str(out)
    executor.Do({}, {'examples': [examples]}, exec_properties(input_base))


def raw_limit(input_base: Path, out: Path) -> None:
    """pyarrow read + RecordBatchToExamples + one gzipped writer: the floor for this work."""
    out.mkdir(parents=True)
    options = tf.io.TFRecordOptions(compression_type='GZIP')
    with tf.io.TFRecordWriter(str(out / 'data.gz'), options) as writer:
        for path in sorted(glob.glob(str(input_base / '*.csv'))):
            for batch in pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=16 << 20)):
                columns = []
                for column in batch.columns:
                    if pa.types.is_string(column.type):
                        column = column.cast(pa.large_binary())
                    elif pa.types.is_floating(column.type):
                        column = column.cast(pa.float32())
                    elif not pa.types.is_integer(column.type):
                        column = column.cast(pa.int64())
                    offsets = pa.array(range(len(column) + 1), pa.int64())
                    columns.append(pa.LargeListArray.from_arrays(offsets, column))
                batch = pa.RecordBatch.from_arrays(columns, batch.schema.names)
                for record in example_coder.RecordBatchToExamples(batch):
                    writer.write(record)


def timed(label: str, rows: int, fn: Callable[[], None]) -> float:
    started = time.monotonic()
    fn()
    seconds = time.monotonic() - started
    print(f'  {label:<44} {seconds:8.1f} s  {rows / seconds:>10,.0f} rows/s', flush=True)
    return seconds


def peak_rss(sizes: List[int], work: Path) -> List[dict]:
    """Each size in a fresh process (``--ours-only``): its own peak RSS, as the kernel counts it
    (``wait4``'s usage of that one child; it makes the data, then converts it)."""
    figures = []
    for copies in sizes:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, __file__, '--copies', str(copies), '--ours-only', '--work',
                                  str(work / f'x{copies}')])
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise RuntimeError(f'the {copies}x run exited with {child.returncode}')
        figures.append({'copies': copies, 'rows': copies * 15_000, 'peak_rss_mb': round(usage.ru_maxrss / 1024),
                        'seconds_with_data_copy': round(time.monotonic() - started, 1)})
        print(f'{copies}x: peak RSS {usage.ru_maxrss / 1024:.0f} MB', flush=True)
        shutil.rmtree(work / f'x{copies}', ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--copies', type=int, default=10, help='copies of the 15k-row taxi CSV (default 10)')
    parser.add_argument('--ours-only', action='store_true', help="skip TFX's CsvExampleGen executor")
    parser.add_argument('--limit', action='store_true', help='also time raw pyarrow + RecordBatchToExamples')
    parser.add_argument('--processes', type=int, default=1,
                        help='also time ours under multi_processing with this many workers (default 1: not)')
    parser.add_argument('--work', help='work folder (default: a temporary one, removed afterwards)')
    parser.add_argument('--peak-rss', help="comma-separated copies, e.g. 100,1000: ours' peak RSS at each")
    parser.add_argument('--json', help='with --peak-rss: write the figures to this file')
    args = parser.parse_args()
    if args.peak_rss:
        sizes = sorted(int(n) for n in args.peak_rss.split(','))
        work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix='bench-example-gen-rss-'))
        figures = peak_rss(sizes, work)
        if args.json:
            Path(args.json).write_text(json.dumps({'fast_example_gen_peak_rss': figures}, indent=1) + '\n')
        return
    if args.copies < 1:
        parser.error('--copies must be at least 1')

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix='bench-example-gen-'))
    try:
        data = work / 'data'
        rows = make_data(data, args.copies)
        size = sum(os.path.getsize(p) for p in glob.glob(str(data / '*.csv'))) / 1e6
        print(f'{args.copies} copies of the taxi CSV: {rows:,} rows, {size:.0f} MB, in {data}')
        ours = timed('fast ExampleGen executor', rows, lambda: run_executor(FastExecutor(), data, work / 'fast'))
        if args.processes > 1:
            setup = source_setup_file()
            parallel = FastExecutor(FastExecutor.Context(beam_pipeline_args=[
                '--direct_running_mode=multi_processing', f'--direct_num_workers={args.processes}'] + (
                [f'--setup_file={setup}'] if setup else [])))
            both = timed(f'fast ExampleGen executor, {args.processes} processes', rows,
                         lambda: run_executor(parallel, data, work / 'fast_parallel'))
            print(f'  {args.processes} processes: {ours / both:.2f}x one')
        if args.limit:
            timed('limit: pyarrow + RecordBatchToExamples', rows, lambda: raw_limit(data, work / 'limit'))
        if not args.ours_only:
            context = tfx_csv_executor.Executor.Context(beam_pipeline_args=BEAM_ARGS)
            theirs = timed("TFX's CsvExampleGen executor", rows,
                           lambda: run_executor(tfx_csv_executor.Executor(context), data, work / 'tfx'))
            print(f'  speed-up: {theirs / ours:.1f}x')
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
