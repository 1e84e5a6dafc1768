"""Reading a saved Keras model's description without running anything from the file.

Keras 2 loads Lambda layers from HDF5 files and SavedModel folders by unmarshalling
the Python bytecode stored in the file, without asking (only the ``.keras`` format
has a ``safe_mode``). A model file handed to the Trainer is therefore inspected
first, as data: its config is read as JSON and refused when it carries code,
unless the user opts in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Any, Iterator, List, Tuple

import tensorflow as tf

HDF5 = 'hdf5'
KERAS_V3 = 'keras'
SAVED_MODEL = 'saved_model'


class UnsafeKerasFileError(ValueError):
    """The file holds Python code that loading it would run."""


@dataclass(frozen=True)
class KerasFileInfo:
    """What the Trainer needs to know about a saved Keras model before loading it."""

    path: str
    format: str
    input_names: Tuple[str, ...]
    output_names: Tuple[str, ...]
    compiled: bool
    # 'layer (why)' for each entry that carries Python code.
    code_entries: Tuple[str, ...]


def detect_format(path: str) -> str:
    if tf.io.gfile.isdir(path):
        if not tf.io.gfile.exists(os.path.join(path, 'keras_metadata.pb')):
            raise ValueError(f'{path} is a folder but not a Keras SavedModel (no keras_metadata.pb)')
        return SAVED_MODEL
    if not tf.io.gfile.exists(path):
        raise ValueError(f'Keras model file {path} does not exist')
    if path.endswith('.keras'):
        return KERAS_V3
    if path.endswith(('.h5', '.hdf5')):
        return HDF5
    raise ValueError(f'{path}: not a Keras model file (expected .h5/.hdf5, .keras or a SavedModel folder)')


def check_keras_2(path: str, version: Any) -> None:
    """Refuses a file that Keras 3 wrote: both stacks' ``tf.keras`` are Keras 2 (2.15 on the legacy
    stack, tf_keras on the modern one), and Keras 2 does not read Keras 3's files."""
    if isinstance(version, bytes):
        version = version.decode()
    if isinstance(version, str) and version.split('.')[0].isdigit() and int(version.split('.')[0]) >= 3:
        raise ValueError(
            f'{path}: saved by Keras {version} (Keras 3), which neither stack reads: tf.keras is Keras 2 on both '
            '(Keras 2.15 on the legacy stack, tf_keras with TF_USE_LEGACY_KERAS=1 on the modern one). Save the '
            'model with Keras 2: tf.keras in TensorFlow 2.15 (.venv), or import tf_keras as keras (.venv-modern).')


def _local_copy(path: str, workdir: str) -> str:
    """h5py and zipfile read local files; object-store paths are copied first."""
    if os.path.exists(path):
        return path
    local = os.path.join(workdir, os.path.basename(path.rstrip('/')))
    tf.io.gfile.copy(path, local, overwrite=True)
    return local


def _read_configs(path: str, fmt: str) -> Tuple[dict, bool]:
    """The model config and whether a training (compile) config is present."""
    workdir = tempfile.mkdtemp(prefix='tke-keras-file-')
    try:
        if fmt == HDF5:
            import h5py  # a TensorFlow dependency; imported here, it is only needed for .h5

            with h5py.File(_local_copy(path, workdir), 'r') as f:
                check_keras_2(path, f.attrs.get('keras_version'))
                if 'model_config' not in f.attrs:
                    raise ValueError(f'{path}: an HDF5 file without a model config (weights only?); '
                                     'save the whole model with model.save(path)')
                training = f.attrs.get('training_config')
                return json.loads(f.attrs['model_config']), training is not None
        if fmt == KERAS_V3:
            with zipfile.ZipFile(_local_copy(path, workdir)) as z:
                if 'metadata.json' in z.namelist():
                    check_keras_2(path, json.loads(z.read('metadata.json')).get('keras_version'))
                config = json.loads(z.read('config.json'))
            return config, bool(config.get('compile_config'))
        # A SavedModel folder: Keras keeps each object's config in keras_metadata.pb.
        from keras.protobuf import saved_metadata_pb2  # no public accessor for this proto

        metadata = saved_metadata_pb2.SavedMetadata()
        with tf.io.gfile.GFile(os.path.join(path, 'keras_metadata.pb'), 'rb') as f:
            metadata.ParseFromString(f.read())
        root = next((n for n in metadata.nodes if n.node_path == 'root'), None)
        if root is None:
            raise ValueError(f'{path}: keras_metadata.pb has no root model')
        root_meta = json.loads(root.metadata)
        # Every saved object's config, so code in nested layers is found too.
        nested = [json.loads(n.metadata) for n in metadata.nodes if n.node_path != 'root']
        config = {'class_name': root_meta.get('class_name'), 'config': root_meta.get('config') or {},
                  'nested': nested}
        return config, bool(root_meta.get('training_config'))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _walk(node: Any, where: str) -> Iterator[Tuple[str, dict]]:
    """Every dict in a config, with the name of the layer it belongs to."""
    if isinstance(node, dict):
        inner = node.get('config')
        name = (inner.get('name') if isinstance(inner, dict) else None) or node.get('name')
        here = name if isinstance(name, str) and 'class_name' in node else where
        yield here, node
        for value in node.values():
            yield from _walk(value, here)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, where)


def find_code(config: dict) -> List[str]:
    """Entries whose loading would unmarshal Python bytecode stored in the file."""
    found = []
    for layer, node in _walk(config, 'model'):
        if node.get('class_name') == '__lambda__':
            found.append(f'{layer} (a Python lambda)')
        elif node.get('function_type') == 'lambda' or node.get('output_shape_type') == 'lambda':
            found.append(f'{layer} (a Lambda layer with Python bytecode)')
    return sorted(set(found))


def _io_names(config: dict, key: str) -> Tuple[str, ...]:
    entries = (config.get('config') or {}).get(key) or []
    # Functional configs list [layer_name, node_index, tensor_index] per input/output,
    # or a dict of them when the model takes a dict.
    if isinstance(entries, dict):
        entries = list(entries.values())
    if entries and isinstance(entries[0], str):
        entries = [entries]
    return tuple(e[0] for e in entries if isinstance(e, list) and e and isinstance(e[0], str))


def inspect_keras_file(path: str) -> KerasFileInfo:
    fmt = detect_format(path)
    config, compiled = _read_configs(path, fmt)
    return KerasFileInfo(
        path=path, format=fmt, input_names=_io_names(config, 'input_layers'),
        output_names=_io_names(config, 'output_layers'), compiled=compiled,
        code_entries=tuple(find_code(config)))


def check_keras_file(path: str, allow_code: bool = False) -> KerasFileInfo:
    """Inspects ``path`` and refuses it when it carries code or cannot be converted.

    With ``allow_code`` the user vouches for the file: its Lambda layers are loaded
    (and Keras' own safe mode for ``.keras`` files is switched off for this process).
    """
    info = inspect_keras_file(path)
    if info.code_entries and not allow_code:
        raise UnsafeKerasFileError(
            f'{path} contains Python code that loading it would run: {", ".join(info.code_entries)}. '
            'Replace Lambda layers with built-in or registered custom layers, or, if you trust the file, '
            'opt in with allow_unsafe_keras_file (tke run --allow-unsafe-keras-file).')
    if not info.compiled:
        raise ValueError(f'{path}: the model was saved without a compile config; model_to_estimator needs '
                         'a compiled model (compile it with a tf.keras.optimizers.legacy optimizer, then save)')
    if info.code_entries:
        # Keras 2.15 exposes this switch only under __internal__ (tf.keras.config came later).
        tf.keras.__internal__.enable_unsafe_deserialization()
    return info
