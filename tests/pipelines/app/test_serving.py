"""Serving folder integrity: complete versions, and incomplete ones set aside."""

from __future__ import annotations

import shutil

import tensorflow as tf

from tfx_keras_estimator.pipelines.app.serving import (
    INCOMPLETE_DIR,
    incomplete_reason,
    newest_complete,
    set_aside_incomplete,
    versions,
)


def _saved_model(path) -> None:
    module = tf.Module()
    module.w = tf.Variable(2.0)
    module.f = tf.function(lambda x: x * module.w, input_signature=[tf.TensorSpec([], tf.float32)])
    tf.saved_model.save(module, str(path))


def test_interrupted_pushes_are_set_aside_and_never_the_newest(tmp_path):
    serving = tmp_path / 'serving'
    _saved_model(serving / '100')
    # Pusher copies saved_model.pb last: killed before it, or during it.
    shutil.copytree(serving / '100', serving / '200')
    (serving / '200' / 'saved_model.pb').unlink()
    shutil.copytree(serving / '100', serving / '300')
    pb = serving / '300' / 'saved_model.pb'
    pb.write_bytes(pb.read_bytes()[: len(pb.read_bytes()) // 2])
    (serving / 'notes').mkdir()  # not a version: left alone
    assert incomplete_reason(serving / '100') is None
    assert incomplete_reason(serving / '200') == 'no saved_model.pb'
    assert incomplete_reason(serving / '300').startswith('saved_model.pb does not parse')
    assert newest_complete(serving) == serving / '100'

    moved = set_aside_incomplete(serving)
    assert [(v.name, t) for v, _, t in moved] == [('200', tmp_path / INCOMPLETE_DIR / '200'),
                                                  ('300', tmp_path / INCOMPLETE_DIR / '300')]
    assert versions(serving) == [serving / '100'] and (serving / 'notes').is_dir()
    assert (tmp_path / INCOMPLETE_DIR / '300' / 'variables').is_dir(), 'moved whole, not deleted'
    assert set_aside_incomplete(serving) == []
    assert tf.saved_model.load(str(newest_complete(serving))).f(3.0).numpy() == 6.0
