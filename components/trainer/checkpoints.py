"""The resume folder's checkpoints, checked before Estimator restores one.

A Trainer killed while writing a checkpoint (or a disk that lost part of one) leaves a
latest checkpoint that cannot be read, and Estimator would stop with a bare DataLossError
on every re-run. Here every variable of the latest checkpoint is read first; an unreadable
one is set aside (``<model_dir>/unreadable/``) and training resumes from the newest intact
one, or, when none is left, stops with an error naming the files and what to do.
"""

from __future__ import annotations

import os
from typing import List, Optional

import tensorflow as tf
from absl import logging

UNREADABLE_SUBDIR = 'unreadable'


class CorruptCheckpointError(RuntimeError):
    """No checkpoint of the resume folder can be read."""


def unreadable(path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` (a prefix: model.ckpt-N) cannot be restored, or None."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    # A truncated data file surfaces as DataLossError, or as IndexError from the reader.
    except (tf.errors.OpError, ValueError, IndexError, OSError) as e:
        return f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
    return None


def _set_aside(model_dir: str, prefix: str) -> str:
    target = os.path.join(model_dir, UNREADABLE_SUBDIR)
    tf.io.gfile.makedirs(target)
    for name in tf.io.gfile.glob(prefix + '.*'):
        tf.io.gfile.rename(name, os.path.join(target, os.path.basename(name)), overwrite=True)
    return target


def intact_latest_checkpoint(model_dir: str) -> Optional[str]:
    """The newest readable checkpoint of ``model_dir`` (None: there is none, start fresh).

    Unreadable newer ones are set aside and the checkpoint state is pointed at the one kept,
    which is what Estimator then restores.
    """
    state = tf.train.get_checkpoint_state(model_dir)
    if state is None or not state.model_checkpoint_path:
        return None

    def absolute(path: str) -> str:
        return path if os.path.isabs(path) or '://' in path else os.path.join(model_dir, path)

    paths: List[str] = [absolute(p) for p in state.all_model_checkpoint_paths] or [
        absolute(state.model_checkpoint_path)]
    problems = []
    for index in range(len(paths) - 1, -1, -1):
        path = paths[index]
        problem = unreadable(path)
        if problem is None:
            if problems:
                tf.compat.v1.train.update_checkpoint_state(model_dir, path,
                                                           all_model_checkpoint_paths=paths[:index + 1])
                logging.warning('Trainer resumes from %s, the newest checkpoint that can be read', path)
            return path
        where = _set_aside(model_dir, path)
        problems.append(f'{path} ({problem})')
        logging.warning('checkpoint %s cannot be read (%s): set aside in %s', path, problem, where)
    raise CorruptCheckpointError(
        f'no checkpoint in {model_dir} can be read: {"; ".join(problems)}. They were set aside in '
        f'{os.path.join(model_dir, UNREADABLE_SUBDIR)}; delete the folder {model_dir} to train from scratch, '
        'or restore the files from a backup')
