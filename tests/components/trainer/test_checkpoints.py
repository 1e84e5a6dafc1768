"""A resume folder whose latest checkpoint cannot be read: resume from the newest intact one, or say what to do."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import tensorflow as tf

from tests.components.trainer.fn_args import trainer_fn_args
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import run_fn
from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR, checkpoint_dir
from tfx_keras_estimator.components.trainer.checkpoints import UNREADABLE_SUBDIR, CorruptCheckpointError, unreadable


@pytest.fixture()
def resume_folder(housing_trainer_inputs, tmp_path):
    """A finished training's checkpoints (steps 20, 40, 60) put back where a re-run of it looks for them."""
    config = get_recipe('housing').trainer_config(checkpoint_root=str(tmp_path / 'checkpoints'),
                                                  save_checkpoints_steps=20, eval_throttle_secs=0)
    first = trainer_fn_args(housing_trainer_inputs, tmp_path / 'first', 60, config)
    run_fn(first)
    again = trainer_fn_args(housing_trainer_inputs, tmp_path / 'again', 60, config)
    folder = Path(checkpoint_dir(again, config))
    assert folder == Path(checkpoint_dir(first, config)), 'the same training, the same resume folder'
    shutil.copytree(Path(first.model_run_dir) / ESTIMATOR_SUBDIR, folder)
    steps = sorted(int(p.name.split('-')[1].split('.')[0]) for p in folder.glob('model.ckpt-*.index'))
    assert steps == [20, 40, 60]
    return again, folder


def _truncate(folder: Path, step: int) -> None:
    (data,) = folder.glob(f'model.ckpt-{step}.data-*')
    data.write_bytes(data.read_bytes()[:len(data.read_bytes()) // 3])


def test_a_truncated_latest_checkpoint_is_set_aside_and_training_resumes_from_the_previous(resume_folder, caplog):
    fn_args, folder = resume_folder
    _truncate(folder, 60)
    assert unreadable(str(folder / 'model.ckpt-60'))
    caplog.set_level('INFO', logger='absl')
    run_fn(fn_args)
    assert re.search(r'checkpoint .*model.ckpt-60 cannot be read \((DataLossError|IndexError)', caplog.text)
    assert 'resumes from checkpoint' in caplog.text and 'model.ckpt-40 (step 40 of 60)' in caplog.text
    exported = Path(fn_args.model_run_dir) / ESTIMATOR_SUBDIR
    assert tf.train.latest_checkpoint(str(exported)).endswith('model.ckpt-60')
    assert not unreadable(tf.train.latest_checkpoint(str(exported)))
    assert list((exported / UNREADABLE_SUBDIR).glob('model.ckpt-60.*')), 'the unreadable files are kept, aside'
    assert (Path(fn_args.serving_model_dir) / 'saved_model.pb').exists()


def test_no_readable_checkpoint_left_is_an_error_naming_the_files_and_what_to_do(resume_folder):
    fn_args, folder = resume_folder
    for step in (20, 40, 60):
        _truncate(folder, step)
    with pytest.raises(CorruptCheckpointError, match=r'no checkpoint in .* can be read: .*model.ckpt-60 \('
                                                     r'(DataLossError|IndexError).*delete the folder .* to train '
                                                     r'from scratch'):
        run_fn(fn_args)
    assert not Path(fn_args.serving_model_dir).exists()
