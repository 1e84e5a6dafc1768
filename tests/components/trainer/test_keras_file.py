"""Inspecting saved Keras models as data: code is found in every format, without loading the file."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import h5py
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


def _relabelled(source: str, target: Path, version: str) -> str:
    """``source`` (a .keras or .h5 file of Keras 2) as a Keras ``version`` would label it."""
    if source.endswith('.keras'):
        with zipfile.ZipFile(source) as z_in, zipfile.ZipFile(target, 'w') as z_out:
            for item in z_in.namelist():
                data = z_in.read(item)
                if item == 'metadata.json':
                    data = json.dumps({**json.loads(data), 'keras_version': version}).encode()
                z_out.writestr(item, data)
    else:
        shutil.copy(source, target)
        with h5py.File(target, 'r+') as f:
            f.attrs['keras_version'] = version
    return str(target)


@pytest.mark.both_stacks
@pytest.mark.parametrize('fmt, suffix', [(KERAS_V3, '.keras'), (HDF5, '.h5')])
def test_a_file_of_keras_3_is_refused_naming_both_stacks(saved, tmp_path, fmt, suffix):
    path = _relabelled(saved['plain', fmt], tmp_path / f'k3{suffix}', '3.3.3')
    with pytest.raises(ValueError, match=r'saved by Keras 3\.3\.3 \(Keras 3\), which neither stack reads.*'
                                         r'legacy stack.*tf_keras'):
        check_keras_file(path)
    assert check_keras_file(_relabelled(saved['plain', fmt], tmp_path / f'k2{suffix}', '2.15.0')).compiled


@pytest.mark.both_stacks
def test_a_file_keras_3_itself_saved_is_refused(tmp_path):
    keras = pytest.importorskip('keras')
    if not keras.__version__.startswith('3.'):
        pytest.skip(f'keras {keras.__version__} here: Keras 3 comes with the modern stack')
    inputs = keras.Input(shape=(3,), name='x')
    model = keras.Model({'x': inputs}, keras.layers.Dense(1, name='prediction')(inputs))
    model.compile(optimizer='sgd', loss='mse')
    model.save(tmp_path / 'k3.keras')
    with pytest.raises(ValueError, match=rf'saved by Keras {keras.__version__} \(Keras 3\)'):
        check_keras_file(str(tmp_path / 'k3.keras'))
