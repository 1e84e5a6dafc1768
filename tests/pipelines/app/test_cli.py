"""The ``tke`` command line, run as a real process."""

from __future__ import annotations

import io
import logging
import os

import pytest

from tests.conftest import run_tke
from tfx_keras_estimator.components.recipes.lookup import recipe_names
from tfx_keras_estimator.components.trainer.progress import RECORD_ATTR as PROGRESS_RECORD_ATTR
from tfx_keras_estimator.components.trainer.progress import Progress
from tfx_keras_estimator.pipelines.app import cli
from tfx_keras_estimator.pipelines.app.local_runner import beam_args


def test_recipes_lists_the_built_ins_and_how_to_name_others():
    result = run_tke('recipes')
    assert result.returncode == 0
    listing, _, how = result.stdout.partition('\n\n')
    names = [line.split()[0] for line in listing.splitlines()]
    assert names == list(recipe_names()) and names[:3] == ['housing', 'taxi', 'digits']
    assert '(default)' in result.stdout.splitlines()[0]
    assert 'my_pkg.recipes:CHURN' in how and 'recipe.toml' in how


def test_help_documents_the_options():
    result = run_tke('run', '--help')
    for option in ('--recipe', '--data', '--train-steps', '--eval-steps', '--output', '--verbose'):
        assert option in result.stdout


def test_unknown_recipe_is_a_clear_error(tmp_path):
    result = run_tke('run', '--recipe', 'penguins', '--output', str(tmp_path))
    assert result.returncode == 2
    assert f"unknown recipe 'penguins': not a built-in recipe ({', '.join(recipe_names())})" in result.stderr
    assert 'dotted path to a Recipe object' in result.stderr
    assert not (tmp_path / 'metadata.sqlite').exists()


def test_bad_data_is_refused_before_any_component_runs(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'houses.csv').write_text('crim,zn\n1,2\n')
    result = run_tke('run', '--data', str(data), '--output', str(tmp_path / 'run'))
    assert result.returncode == 2
    assert 'houses.csv: header lacks schema column(s)' in result.stderr
    assert not (tmp_path / 'run').exists()


def _component_failure(write) -> BaseException:
    """What a component run raises when ``write`` fails: the write's own error as the cause."""
    try:
        try:
            write()
        except Exception as e:
            raise RuntimeError('Transform failed') from e
    except RuntimeError as e:
        return e
    raise AssertionError('the write did not fail')


def _python_write() -> None:
    with open('/dev/full', 'wb') as f:  # a device that answers every write with ENOSPC
        f.write(b'x' * 65536)


def _tensorflow_write() -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter('/dev/full') as writer:
        writer.write(b'x' * 65536)


def _sqlite_write(path) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute('PRAGMA max_page_count = 2')  # SQLite's own "full" without a full file system
    db.execute('CREATE TABLE t (x BLOB)')
    for _ in range(20):
        db.execute('INSERT INTO t VALUES (randomblob(4096))')
    db.commit()


@pytest.mark.skipif(not os.path.exists('/dev/full'), reason='no /dev/full')
@pytest.mark.parametrize('writer', ['python', 'tensorflow', 'sqlite'])
def test_a_full_disk_is_named_with_the_run_directory(tmp_path, writer):
    """The rule, on the errors real writes raise when nothing is left (no mount needed): Python's
    ENOSPC and TensorFlow's on /dev/full, SQLite's SQLITE_FULL (as ML Metadata's store hits it)."""
    from tfx_keras_estimator.pipelines.app.cli import disk_full

    write = {'python': _python_write, 'tensorflow': _tensorflow_write,
             'sqlite': lambda: _sqlite_write(tmp_path / 'metadata.sqlite')}[writer]
    message = disk_full(_component_failure(write), tmp_path)
    assert message is not None and message.startswith(f'the file system of the run directory {tmp_path} is full (')
    assert 'RuntimeError: Transform failed' in message
    assert 'tke gc' in message and '--output' in message
    assert disk_full(ValueError('bad value'), tmp_path) is None  # a roomy disk, another error


class _Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _record(msg: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord('absl', logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def _train(handler, steps) -> None:
    handler.emit(_record('Component %s is running.', 'Trainer'))
    for step in steps:
        progress = Progress(step, 100, 0.5, 1000.0, (100 - step) / 10)
        handler.emit(_record('training: %s', progress.line(), **{PROGRESS_RECORD_ATTR: progress}))
    handler.emit(_record('Component %s is finished.', 'Trainer'))


def test_training_progress_updates_one_line_on_a_terminal():
    out = _Terminal(tty=True)
    _train(cli._Progress(out), [10, 50, 100])
    text = out.getvalue()
    assert text.count('\n') == 1, 'one line, rewritten'
    assert '\r  Trainer                          step 50/100 (50%), loss 0.5, 1,000 examples/s, 5 s left\x1b[K' in text
    assert text.endswith('done          0.0 s\x1b[K\n')


def test_training_progress_in_a_log_is_plain_lines_now_and_then():
    out = _Terminal(tty=False)
    _train(cli._Progress(out), [10, 50, 100])
    lines = out.getvalue().splitlines()
    # The first report, then none within 10 s, and the last one (100%) always.
    assert [line for line in lines if 'training:' in line] == [
        '    training: step 10/100 (10%), loss 0.5, 1,000 examples/s, 9 s left',
        '    training: step 100/100 (100%), loss 0.5, 1,000 examples/s, 0 s left']
    assert '\r' not in out.getvalue() and '\x1b' not in out.getvalue()


def test_read_only_commands_default_to_the_run_directory_used_last(tmp_path):
    for name, mtime in (('taxi', 100), ('housing', 300), ('text', 200)):
        (tmp_path / 'runs' / name).mkdir(parents=True)
        store = tmp_path / 'runs' / name / 'metadata.sqlite'
        store.write_bytes(b'')
        os.utime(store, (mtime, mtime))
    assert cli.default_run_dir(tmp_path) == tmp_path / 'runs' / 'housing'
    assert cli.default_run_dir(tmp_path / 'elsewhere') == tmp_path / 'elsewhere' / 'runs' / 'housing'


def test_read_only_commands_refuse_a_folder_that_is_no_run_directory(tmp_path):
    for command in ('runs', 'report', 'tensorboard'):
        result = run_tke(command, str(tmp_path))
        assert result.returncode == 2
        assert f'{tmp_path} is not a run directory' in result.stderr


def test_the_run_names_the_beam_runner_it_uses():
    assert cli.beam_line(beam_args('in_memory', 1)) == 'DirectRunner (in_memory, 1 worker(s))'
    assert cli.beam_line(beam_args('multi_threading', 1)) == 'DirectRunner (multi_threading, a worker per core)'
    # A user's --runner, in any of Beam's spellings, and the DirectRunner's settings left out.
    portable = ['--runner=portable', '--job_endpoint=embed']
    assert cli.beam_line(beam_args('auto', 1, portable) + portable) == 'PortableRunner'
    dataflow = ['--runner=DataflowRunner', '--project=p', '--region=r', '--temp_location=gs://b/t']
    assert cli.beam_line(beam_args('auto', 1, dataflow) + dataflow) == 'DataflowRunner'


@pytest.mark.parametrize('args, message', [
    (['--beam-arg=--runner=NoSuchRunner'], '--beam-arg: --runner=NoSuchRunner: not a Beam runner'),
    (['--beam-arg=--runner'], "--beam-arg '--runner': Beam refuses it (argument --runner: expected one argument); "
                              'write --runner=VALUE'),
    (['--beam-arg=runner=DirectRunner'], "--beam-arg 'runner=DirectRunner': a Beam argument is --name=value"),
    (['--beam-arg', '--runner=DirectRunner'], 'argument --beam-arg: expected one argument'),  # argparse: write "="
    (['--beam-arg=--runner=flink', '--beam-mode', 'multi_threading'],
     '--beam-mode multi_threading is a mode of the local DirectRunner; --beam-arg names --runner=flink (FlinkRunner)'),
])
def test_bad_beam_args_are_refused_before_anything_runs(tmp_path, args, message):
    result = run_tke('run', '--recipe', 'housing', '--output', str(tmp_path / 'run'), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / 'run').exists()
