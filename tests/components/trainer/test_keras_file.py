"""Inspecting saved Keras models as data: code is found in every format, without loading the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from tfx_keras_estimator.components.trainer.keras_file import (
    HDF5,
    KERAS_V3,
    SAVED_MODEL,
    UnsafeKerasFileError,
    check_keras_file,
    inspect_keras_file,
)


def _model(with_lambda: bool, compiled: bool = True) -> tf.keras.Model:
    x_in = tf.keras.Input(shape=(3,), name='x')
    x = tf.keras.layers.Lambda(lambda t: t * 2.0, name='double')(x_in) if with_lambda else x_in
    model = tf.keras.Model({'x': x_in}, tf.keras.layers.Dense(1, name='prediction')(x))
    if compiled:
        model.compile(optimizer=tf.keras.optimizers.legacy.SGD(), loss='mse')
    return model


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp('keras-files')
    paths = {}
    for name, with_lambda in (('lambda', True), ('plain', False)):
        model = _model(with_lambda)
        for fmt, suffix in ((HDF5, '.h5'), (KERAS_V3, '.keras'), (SAVED_MODEL, '')):
            path = str(root / f'{name}{suffix or "_savedmodel"}')
            model.save(path)
            paths[name, fmt] = path
    return paths


@pytest.mark.parametrize('fmt', [HDF5, KERAS_V3, SAVED_MODEL])
def test_lambda_found_in_every_format(saved, fmt):
    info = inspect_keras_file(saved['lambda', fmt])
    assert info.format == fmt
    assert info.input_names == ('x',) and info.output_names == ('prediction',) and info.compiled
    assert info.code_entries == ('double (a Lambda layer with Python bytecode)',)
    with pytest.raises(UnsafeKerasFileError, match='double'):
        check_keras_file(saved['lambda', fmt])


@pytest.mark.parametrize('fmt', [HDF5, KERAS_V3, SAVED_MODEL])
def test_plain_model_passes(saved, fmt):
    info = check_keras_file(saved['plain', fmt])
    assert info.code_entries == () and info.input_names == ('x',)


def test_uncompiled_model_is_refused(tmp_path):
    path = str(tmp_path / 'raw.h5')
    _model(with_lambda=False, compiled=False).save(path)
    with pytest.raises(ValueError, match='without a compile config'):
        check_keras_file(path)


@pytest.mark.parametrize('name, message', [('missing.h5', 'does not exist'), ('weights.bin', 'not a Keras model file')])
def test_bad_paths_are_named(tmp_path: Path, name, message):
    path = tmp_path / name
    if name.endswith('.bin'):
        path.write_bytes(b'\0')
    with pytest.raises(ValueError, match=message):
        inspect_keras_file(str(path))
