"""tke tensorboard's command line; the live server on a real run is in tests/e2e/test_report.py."""

from __future__ import annotations

import sys

import pytest

from tfx_keras_estimator.pipelines.app.tensorboard import tensorboard_command, training_logdirs


def test_one_named_run_per_training():
    command = tensorboard_command([('run1-Trainer', '/r/a'), ('run2-Trainer', '/r/b')], '127.0.0.1', 6007)
    assert command[:3] == [sys.executable, '-m', 'tensorboard.main']
    assert command[command.index('--logdir_spec') + 1] == 'run1-Trainer:/r/a,run2-Trainer:/r/b'
    assert command[-4:] == ['--host', '127.0.0.1', '--port', '6007']


def test_a_path_tensorboard_cannot_name_is_refused():
    with pytest.raises(ValueError, match='comma'):
        tensorboard_command([('run1-Trainer', '/r/a,b')], '127.0.0.1', 6006)


def test_a_folder_that_is_no_run_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match='not a run directory'):
        training_logdirs(tmp_path)
