"""The fast CSV ExampleGen writes what TFX's CsvExampleGen writes, split for split.

Both executors' ``Do()`` run for real (TFX's on Beam's DirectRunner) on the same CSV
folder with the same configs; the examples are compared as multisets of canonical
(deterministic) serializations per split, so types, values and the split of every row
must agree.
"""

from __future__ import annotations

import collections
import csv
import glob
import json
import multiprocessing
import os
import queue
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Counter, Dict, List, Sequence
from unittest import mock

import pytest
import tensorflow as tf
from google.protobuf import json_format
from ml_metadata import metadata_store as mlmd
from tfx import v1 as tfx

# TFX's own CsvExampleGen executor, run as the reference; no public tfx.v1 name for it.
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2

from tests.conftest import calls_of
from tfx_keras_estimator.components.fast_example_gen import Executor, FastCsvExampleGen, conversion, executor, reader

SPLITS = (('train', 2), ('eval', 1))


def exec_properties(input_base: Path, splits=SPLITS, partition_feature: str = '') -> Dict:
    """What the CsvExampleGen component hands its executor (input_config: one split, '*.csv')."""
    split_config = tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name=n, hash_buckets=b)
                                                 for n, b in splits])
    if partition_feature:
        split_config.partition_feature_name = partition_feature
    return {
        'input_base': str(input_base),
        'input_config': json_format.MessageToJson(tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name='single_split', pattern='*.csv')]), preserving_proto_field_name=True),
        'output_config': json_format.MessageToJson(tfx.proto.Output(split_config=split_config),
                                                   preserving_proto_field_name=True),
        'output_data_format': example_gen_pb2.FORMAT_TF_EXAMPLE,
        'output_file_format': example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }


def run(executor_class, input_base: Path, out: Path, beam_args: Sequence[str] = (), custom_config=None,
        **kwargs) -> tfx.types.standard_artifacts.Examples:
    examples = tfx.types.standard_artifacts.Examples()
    examples.uri = str(out)
    properties = exec_properties(input_base, **kwargs)
    if custom_config is not None:
        properties['custom_config'] = json_format.MessageToJson(custom_config)
    # A Beam executor parses absl flags from sys.argv when it is made: keep pytest's (-v, --durations=...)
    # out of its way.
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        executor = executor_class(base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=list(beam_args)))
        executor.Do({}, {'examples': [examples]}, properties)
    return examples


def records(split_dir: str) -> List[bytes]:
    files = sorted(glob.glob(os.path.join(split_dir, '*')))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type='GZIP')]


def canonical(split_dir: str) -> Counter[bytes]:
    return collections.Counter(tf.train.Example.FromString(r).SerializeToString(deterministic=True)
                               for r in records(split_dir))


def feature_summary(examples: Counter[bytes]) -> Dict[str, Dict[str, int]]:
    """Per feature: how many examples carry each kind, and how many have no value (the stats that matter)."""
    summary: Dict[str, Dict[str, int]] = collections.defaultdict(collections.Counter)
    for serialized, count in examples.items():
        for name, feature in tf.train.Example.FromString(serialized).features.feature.items():
            kind = feature.WhichOneof('kind') or 'none'
            summary[name][kind] += count
            if kind == 'none' or not len(getattr(feature, kind).value):
                summary[name]['missing'] += count
    return {name: dict(kinds) for name, kinds in summary.items()}


def assert_same_output(theirs, ours) -> None:
    assert ours.split_names == theirs.split_names
    assert ours.get_string_custom_property('payload_format') == 'FORMAT_TF_EXAMPLE'
    assert ours.get_string_custom_property('file_format') == theirs.get_string_custom_property('file_format')
    for split in json.loads(theirs.split_names):  # the property is a JSON list of names
        expected = canonical(os.path.join(theirs.uri, f'Split-{split}'))
        ours_raw = records(os.path.join(ours.uri, f'Split-{split}'))
        got = collections.Counter(ours_raw)
        # Ours are written canonically already (the bytes that were hashed).
        assert got == canonical(os.path.join(ours.uri, f'Split-{split}'))
        assert sum(got.values()) == sum(expected.values()), split
        assert feature_summary(got) == feature_summary(expected), split
        assert got == expected, split


@pytest.fixture(scope='module')
def taxi_outputs(tmp_path_factory, taxi_csv):
    data = tmp_path_factory.mktemp('taxi-data')
    shutil.copy(taxi_csv, data / 'chicago_taxi.csv')
    out = tmp_path_factory.mktemp('taxi-out')
    return run(tfx_csv_executor.Executor, data, out / 'tfx'), run(Executor, data, out / 'fast')


def test_taxi_same_examples_same_splits(taxi_outputs, taxi_csv):
    theirs, ours = taxi_outputs
    assert json.loads(ours.split_names) == ['train', 'eval']
    assert_same_output(theirs, ours)
    rows = sum(len(records(os.path.join(ours.uri, f'Split-{s}'))) for s, _ in SPLITS)
    with taxi_csv.open(newline='') as f:
        assert rows == sum(1 for row in csv.reader(f) if row) - 1 > 15000


TRICKY_A = (
    'i,f,mixed,s,empty,big,odd_int,odd_float,quoted\n'
    '1,1.5,1,a,,1,+5, 2.5,"x, y"\n'
    '\n'
    '2,0,2,b,,12345678901234567890,0007,nan,"two\nlines"\n'
    ',-0.0,,,,,,inf,""\n'
    '-9223372036854775808,1e5,3,é,,3,1_000,1_0.5,"say ""hi"""\n'
)
TRICKY_B = (
    'i,f,mixed,s,empty,big,odd_int,odd_float,quoted\n'
    '9223372036854775807,.5,4.25,c,,4, 7 ,-Infinity,plain\n'
    '5,3.4028236e38,,,,,-0,1.,z\n'
)


class TwoProcessExecutor(Executor):
    """The executor as it runs on a large input of several files under Beam's multi_processing
    with two workers (test_processes_follow_the_beam_settings): pass 2 in two processes."""

    def _processes(self, sizes):
        return 2


def _taxi_in_files(taxi_csv: Path, folder: Path, parts: int) -> Path:
    """The shipped taxi CSV cut into ``parts`` files, each with the header."""
    folder.mkdir()
    with taxi_csv.open(newline='') as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    for i in range(parts):
        with (folder / f'taxi_{i}.csv').open('w', newline='') as g:
            writer = csv.writer(g, lineterminator='\n')
            writer.writerow(header)
            writer.writerows(body[i::parts])
    return folder


def _job(files, out: Path, slots: int) -> 'conversion.ConvertJob':
    """Pass 2's job for ``files`` as the executor makes it (hash buckets of SPLITS)."""
    columns = reader.check_same_header(files)
    types_, _ = reader.infer_column_types(files, columns, 1 << 20)
    return conversion.ConvertJob(column_names=columns, column_types=types_, block_size=1 << 20, buckets=[2, 3],
                                partition_feature_name=None, num_shards=[slots] * 2, slots=slots,
                                split_uris=[str(out / f'Split-{split}') for split, _ in SPLITS])


def test_two_processes_write_the_same_examples(tmp_path, taxi_outputs, taxi_csv):
    """Files shared out between this process and a spawned one: the same examples in the same splits
    as one process writes, in the shards each wrote (shard names of one count)."""
    _, serial = taxi_outputs
    data = _taxi_in_files(taxi_csv, tmp_path / 'data', parts=5)
    # Through Do(): small files may all be done here before the spawned process is up.
    ours = run(TwoProcessExecutor, data, tmp_path / 'fast')
    # The spawned process's own conversion, for certain: four files to it, one here.
    files = sorted(str(f) for f in data.iterdir())
    job = _job(files, tmp_path / 'split_by_hand', slots=2)
    context = multiprocessing.get_context('spawn')
    jobs, results = context.Queue(), context.Queue()
    jobs.put((job, files[1:]))
    helper = context.Process(target=executor._worker, args=(1, jobs, results))
    helper.start()
    here = executor._convert_files(job, 0, files[:1])
    slot, there, error = results.get(timeout=120)
    helper.join()
    assert (slot, error, helper.exitcode) == (1, None, 0) and min(there) > 0 and min(here) > 0
    for out in (ours.uri, str(tmp_path / 'split_by_hand')):
        for split, _ in SPLITS:
            split_dir = os.path.join(out, f'Split-{split}')
            names = sorted(os.listdir(split_dir))
            assert names == [f'data_tfrecord-{i:05d}-of-00002.gz' for i in range(2)], names
            assert canonical(split_dir) == canonical(os.path.join(serial.uri, f'Split-{split}')), (out, split)


def test_processes_follow_the_beam_settings(tmp_path):
    files = []
    for i in range(6):
        files.append(str(tmp_path / f'{i}.csv'))
        Path(files[-1]).write_text('a\n' + '1\n' * 1000)

    def processes(args, files=files, min_bytes=0):
        return executor.processes_for(args, {f: os.path.getsize(f) for f in files}, min_bytes)

    multi = ['--direct_running_mode=multi_processing']
    assert processes(multi + ['--direct_num_workers=2']) == 2
    assert processes(multi + ['--direct_num_workers=0']) == min(4, len(os.sched_getaffinity(0)))
    assert processes(multi + ['--direct_num_workers=16']) == 4, 'at most MAX_PROCESSES'
    assert processes(multi + ['--direct_num_workers=16'], files=files[:3]) == 3, 'at most a process per file'
    assert processes(multi + ['--direct_num_workers=2'], files=files[:1]) == 1
    assert processes(multi + ['--direct_num_workers=2'], min_bytes=1 << 20) == 1, 'small input'
    assert processes(['--direct_running_mode=multi_threading', '--direct_num_workers=2']) == 2
    assert processes(['--direct_running_mode=in_memory']) == 1
    assert processes(multi + ['--direct_num_workers=2', '--runner=DataflowRunner']) == 1
    assert processes([]) == 1


def test_files_are_shared_out_by_bytes():
    sizes = {'a': 50, 'b': 40, 'c': 30, 'd': 20, 'e': 10, 'f': 10}
    groups = executor.share_out(list(sizes), 2, sizes.get)
    assert sorted(sum(map(sizes.get, g)) for g in groups) == [80, 80]
    assert sorted(f for g in groups for f in g) == sorted(sizes), 'each file in one group'
    assert executor.share_out(['a'], 3, sizes.get) == [['a'], [], []]


def test_a_bad_file_in_pass_two_is_named_whichever_process_reads_it(tmp_path):
    """Pass 1 finds bad rows first; should a file go bad between the passes, the process that reads it
    names it: a spawned one through the results queue, this one directly, its helpers then stopped."""
    (tmp_path / 'good.csv').write_text('a,b\n1,x\n2,y\n')
    (tmp_path / 'bad.csv').write_text('a,b\n1,x\n2\n')
    job = _job([str(tmp_path / 'good.csv')], tmp_path / 'out', slots=2)
    message = r'bad\.csv: line 3 \(data row 2\) has 1 cells; the header has 2 columns'
    jobs, results = queue.Queue(), queue.Queue()
    jobs.put((job, [str(tmp_path / 'good.csv'), str(tmp_path / 'bad.csv')]))
    executor._worker(1, jobs, results)
    slot, counts, error = results.get_nowait()
    assert (slot, counts) == (1, None)
    with pytest.raises(ValueError, match=message):
        raise error
    with pytest.raises(ValueError, match=message), executor._Helpers(1) as helpers:
        helpers.convert(job, {str(p): p.stat().st_size for p in (tmp_path / 'bad.csv', tmp_path / 'good.csv')})
    assert not multiprocessing.active_children()
    # A helper that never got its job (pass 1 failed) stops too.
    with pytest.raises(ValueError, match='pass 1 failed'), executor._Helpers(1):
        raise ValueError('pass 1 failed')
    assert not multiprocessing.active_children()


def test_tricky_cells_typed_and_split_as_csv_example_gen(tmp_path):
    """Ints in one file and floats in another, empty int cells, an all-empty column, 19-digit ints
    (text), Python-only number forms, quoted commas/newlines/quotes, blank lines, non-ASCII."""
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'a.csv').write_text(TRICKY_A, encoding='utf-8')
    (data / 'b.csv').write_text(TRICKY_B, encoding='utf-8')
    theirs = run(tfx_csv_executor.Executor, data, tmp_path / 'tfx', splits=(('train', 1), ('eval', 1)))
    ours = run(Executor, data, tmp_path / 'fast', splits=(('train', 1), ('eval', 1)))
    assert_same_output(theirs, ours)
    kinds = feature_summary(canonical(os.path.join(ours.uri, 'Split-train')) +
                            canonical(os.path.join(ours.uri, 'Split-eval')))
    assert kinds['mixed'] == {'float_list': 6, 'missing': 2}
    assert kinds['i'] == {'int64_list': 6, 'missing': 1}
    assert kinds['empty'] == {'none': 6, 'missing': 6}
    assert 'bytes_list' in kinds['big'] and 'int64_list' in kinds['odd_int'] and 'float_list' in kinds['odd_float']


def test_partition_feature_name_same_split(tmp_path, taxi_csv):
    data = tmp_path / 'data'
    data.mkdir()
    with taxi_csv.open() as src:
        (data / 'taxi.csv').write_text(''.join(line for _, line in zip(range(2001), src, strict=False)))
    kwargs = {'partition_feature': 'company'}
    assert_same_output(run(tfx_csv_executor.Executor, data, tmp_path / 'tfx', **kwargs),
                       run(Executor, data, tmp_path / 'fast', **kwargs))
    with pytest.raises(ValueError, match="'fare' is a float column"):
        run(Executor, data, tmp_path / 'bad', partition_feature='fare')


def test_ragged_row_names_file_and_row(tmp_path):
    (tmp_path / 'good.csv').write_text('a,b\n1,2\n')
    (tmp_path / 'bad.csv').write_text('a,b\n1,2\n\n"3\n4",5\n6\n7,8\n')
    with pytest.raises(ValueError, match=r'bad\.csv: line 6 \(data row 3\) has 1 cells; the header has 2 columns'):
        run(Executor, tmp_path, tmp_path / 'out')


def test_header_only_file(tmp_path):
    (tmp_path / 'header.csv').write_text('a,b\n')
    with pytest.raises(ValueError, match=r'have a header but no data row: .*header\.csv'):
        run(Executor, tmp_path, tmp_path / 'out')
    # Beside files with rows, a header-only file just adds none (as in CsvExampleGen).
    (tmp_path / 'rows.csv').write_text('a,b\n1,x\n2,y\n')
    ours = run(Executor, tmp_path, tmp_path / 'out2')
    assert sum(len(records(os.path.join(ours.uri, f'Split-{s}'))) for s, _ in SPLITS) == 2


def test_unreadable_files_named(tmp_path):
    (tmp_path / 'a.csv').write_text('a,b\n1,2\n')
    (tmp_path / 'b.csv').write_text('a,c\n1,2\n')
    with pytest.raises(ValueError, match=r'b\.csv has a different header from .*a\.csv'):
        run(Executor, tmp_path, tmp_path / 'out')
    (tmp_path / 'b.csv').write_bytes(b'a,b\n1,\xff\xfe\n')
    with pytest.raises(ValueError, match=r'b\.csv: cannot read the CSV after data row 0: .*UTF8'):
        run(Executor, tmp_path, tmp_path / 'out')
    (tmp_path / 'b.csv').write_bytes(b'')
    with pytest.raises(ValueError, match=r'b\.csv: the file is empty'):
        run(Executor, tmp_path, tmp_path / 'out')
    with pytest.raises(ValueError, match=r'matches no file'):
        run(Executor, tmp_path / 'nowhere', tmp_path / 'out')


def test_component_is_csv_example_gen_with_our_executor():
    component = FastCsvExampleGen(input_base='/data')
    assert isinstance(component, tfx.components.CsvExampleGen)
    assert component.executor_spec.executor_class is Executor
    assert component.with_id('CsvExampleGen').id == 'CsvExampleGen'


def test_in_a_pipeline_records_span_version_fingerprint(tmp_path, taxi_csv):
    """Through LocalDagRunner: CsvExampleGen's driver records span, version and input fingerprint."""
    data = tmp_path / 'data'
    data.mkdir()
    with taxi_csv.open() as src:
        (data / 'taxi.csv').write_text(''.join(line for _, line in zip(range(301), src, strict=False)))
    example_gen = FastCsvExampleGen(
        input_base=str(data),
        input_config=tfx.proto.Input(splits=[tfx.proto.Input.Split(name='single_split', pattern='*.csv')]),
        output_config=tfx.proto.Output(split_config=tfx.proto.SplitConfig(splits=[
            tfx.proto.SplitConfig.Split(name=n, hash_buckets=b) for n, b in SPLITS]))).with_id('CsvExampleGen')
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / 'mlmd.sqlite'))
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name='fast-example-gen', pipeline_root=str(tmp_path / 'root'), components=[example_gen],
        metadata_connection_config=metadata))
    store = mlmd.MetadataStore(metadata)
    [artifact] = store.get_artifacts_by_type('Examples')
    props = artifact.custom_properties
    assert props['span'].int_value == 0 and props['input_fingerprint'].string_value.startswith('split:single_split')
    assert props['payload_format'].string_value == 'FORMAT_TF_EXAMPLE'
    assert json.loads(artifact.properties['split_names'].string_value) == ['train', 'eval']
    assert sum(len(records(os.path.join(artifact.uri, f'Split-{s}'))) for s, _ in SPLITS) == 300


def test_schema_types_and_missing_tokens(tmp_path):
    """With CsvOptions: the schema's types, blank cells and (in number columns) tokens missing; a
    word in a number column types it as CsvExampleGen would, for ExampleValidator to report."""
    from tests.data_checks import write_examples
    from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions

    data = tmp_path / 'data'
    data.mkdir()
    (data / 't.csv').write_text('n,f,s,w,e\n1,2,NA, 3,\nNA,?,a,x,\n , 4.5,  ,4,\n7,N/A,b,5,\n')
    options = CsvOptions(column_types=(('n', 'INT'), ('f', 'FLOAT'), ('s', 'STRING'), ('w', 'FLOAT'), ('e', 'FLOAT')),
                         missing_tokens=('NA', 'N/A', '?'))
    out = write_examples(data, tmp_path / 'out', options)
    examples = [tf.train.Example.FromString(r) for split in ('train', 'eval')
                for r in records(os.path.join(out, f'Split-{split}'))]
    values = {}
    for example in examples:
        for key, feature in example.features.feature.items():
            kind = feature.WhichOneof('kind')
            values.setdefault(key, []).append((kind, list(getattr(feature, kind).value) if kind else []))
    assert sorted(v for _, v in values['n'] if v) == [[1], [7]] and {k for k, _ in values['n']} == {'int64_list'}
    assert sorted(v for _, v in values['f'] if v) == [[2.0], [4.5]] and {k for k, _ in values['f']} == {'float_list'}
    # A text column keeps 'NA' as a value; a blank cell is missing there too.
    assert sorted(v for _, v in values['s'] if v) == [[b'NA'], [b'a'], [b'b']]
    # 'x' in a FLOAT column: the column is text, as CsvExampleGen types it (the validator's anomaly).
    assert {k for k, _ in values['w']} == {'bytes_list'}
    # A column with no value at all still has the schema's type.
    assert {k for k, _ in values['e']} == {'float_list'} and all(v == [] for _, v in values['e'])


# Beam's portable runner in this process (the FnAPI path of Flink, Spark and Dataflow Runner v2):
# a runner other than the local DirectRunner that runs here.
PORTABLE = ['--runner=PortableRunner', '--job_endpoint=embed', '--environment_type=LOOPBACK']


def _awkward_options(data: Path):
    """Taxi's CSV plus a file with NA tokens and padded cells; CsvOptions typing the number columns."""
    from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions

    header = (data / 'chicago_taxi.csv').read_text().splitlines()[0].split(',')
    rows = [['NA' if i % 3 == 0 else '' if i % 3 == 1 else ' 1 ' for i in range(len(header))] for _ in range(20)]
    (data / 'gaps.csv').write_text('\n'.join([','.join(header)] + [','.join(row) for row in rows]) + '\n')
    types_, _ = reader.infer_column_types([str(data / 'chicago_taxi.csv')], header)
    return CsvOptions(column_types=tuple((n, t.name) for n, t in types_.items() if t.name != 'UNKNOWN'),
                      missing_tokens=('NA', 'N/A')).to_custom_config()


def test_remote_runner_runs_our_rules_as_a_beam_job(tmp_path, taxi_csv):
    """With CsvOptions under a runner other than the local one, ExampleGen is a Beam job on that runner
    (here the portable runner), writing the examples this process writes, in the same splits."""
    data = tmp_path / 'data'
    data.mkdir()
    shutil.copy(taxi_csv, data / 'chicago_taxi.csv')
    config = _awkward_options(data)
    local = run(Executor, data, tmp_path / 'local', custom_config=config)
    with calls_of(executor.beam_job, 'convert') as beam_jobs, calls_of(Executor, '_convert_split') as here:
        beam = run(Executor, data, tmp_path / 'beam', beam_args=PORTABLE, custom_config=config)
    assert len(beam_jobs) == 1 and here == [], 'the Beam job converted, this process did not'
    assert beam.split_names == local.split_names
    for split, _ in SPLITS:
        got = canonical(os.path.join(beam.uri, f'Split-{split}'))
        assert sum(got.values()) > 4000 and got == canonical(os.path.join(local.uri, f'Split-{split}')), split


def test_remote_runner_without_options_runs_csv_example_gen(tmp_path):
    """Without CsvOptions a remote runner gets TFX's own CsvExampleGen executor: the examples this
    process writes (tricky cells included)."""
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'a.csv').write_text(TRICKY_A, encoding='utf-8')
    (data / 'b.csv').write_text(TRICKY_B, encoding='utf-8')
    local = run(Executor, data, tmp_path / 'local', splits=(('train', 1), ('eval', 1)))
    with calls_of(tfx_csv_executor.Executor, 'Do') as theirs, calls_of(Executor, '_convert_split') as here:
        beam = run(Executor, data, tmp_path / 'beam', beam_args=PORTABLE, splits=(('train', 1), ('eval', 1)))
    assert len(theirs) == 1 and here == [], "TFX's CsvExampleGen executor converted, this process did not"
    assert_same_output(beam, local)  # theirs first: the canonical bytes are ours


_DATAFLOW_DRY_RUN = """
import sys
from pathlib import Path
from absl import logging
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx_keras_estimator.components.fast_example_gen import Executor
from tests.components.test_fast_example_gen import _awkward_options, run

logging.set_verbosity(logging.INFO)
pipelines = []

class Recording(Executor):
    def _make_beam_pipeline(self):
        pipelines.append(super()._make_beam_pipeline())
        return pipelines[-1]

data, out = Path(sys.argv[1]), Path(sys.argv[2])
args = ['--runner=DataflowRunner', '--project=tke-test-project', '--region=us-central1',
        '--temp_location=gs://tke-test-bucket/tmp', '--staging_location=gs://tke-test-bucket/staging',
        '--no_auth', '--dry_run=True']
run(Recording, data, out / 'ours', beam_args=args, custom_config=_awkward_options(data))
transforms = {t.unique_name for t in pipelines[0].to_runner_api().components.transforms.values()}
print('DATAFLOW JOB', type(pipelines[0].result.job).__name__, sorted(t for t in transforms if '[' in t))
run(Executor, data, out / 'theirs', beam_args=args)
"""


def test_dataflow_gets_the_job_and_nothing_is_converted_here(tmp_path, taxi_csv):
    """Under the DataflowRunner (its dry run: the job is built for Dataflow, not sent) ExampleGen hands
    the whole conversion to Dataflow, with or without CsvOptions: no example is written here. In a
    network namespace holding only loopback: nothing may leave the machine."""
    from tests.conftest import REPO_ROOT

    data = tmp_path / 'data'
    data.mkdir()
    shutil.copy(taxi_csv, data / 'chicago_taxi.csv')
    out = tmp_path / 'out'
    script = tmp_path / 'dry_run.py'
    script.write_text(_DATAFLOW_DRY_RUN)
    command = f'ip link set lo up && exec {shlex.quote(sys.executable)} {script} {data} {out}'
    done = subprocess.run(['unshare', '--map-root-user', '--net', 'sh', '-c', command], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, 'PYTHONPATH': str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "DATAFLOW JOB Job ['CheckRows[train+eval]', 'ColumnTypes[train+eval]'" in done.stdout, done.stdout
    assert "'ToExamples[train+eval]', 'Write[train+eval][Split-eval]'" in done.stdout
    assert "TFX's CsvExampleGen executor runs on the Beam runner DataflowRunner" in done.stderr
    written = [str(p) for p in out.rglob('*') if p.is_file()]
    assert written == [], written
