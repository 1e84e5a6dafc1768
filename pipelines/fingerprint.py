"""Fingerprints of the code behind dotted paths, for correct caching.

TFX's cache key holds a component's inputs and execution properties. A
``preprocessing_fn`` or model builder named by dotted path is just a string
there: edit the function and TFX would still reuse the old Transform/Trainer
result. We put a hash of the source files into the execution properties, so a
code change invalidates exactly the components whose code changed.

What is hashed, per dotted path: every ``.py`` file in the folder of the module
that defines it (a recipe's folder, or your own module's folder), plus the
shared code the component runs (``components/recipes/*.py``; for the Trainer also
``components/trainer/``). Modules imported from elsewhere are not followed: after
changing such a module, run once with ``--no-cache``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Iterable, List

from tfx_keras_estimator import components
from tfx_keras_estimator.components.trainer.config import TrainerConfig

# This package's components/ folder, wherever it is installed.
COMPONENTS_DIR = Path(components.__file__).resolve().parent


def module_folder(dotted_path: str) -> Path:
    """The folder of the module that defines ``dotted_path`` (found without importing it)."""
    module_name = dotted_path.rpartition(':')[0] or dotted_path.rpartition('.')[0]
    try:
        spec = importlib.util.find_spec(module_name)
    except ImportError:
        spec = None
    if spec is None or not spec.origin or spec.origin in ('built-in', 'frozen'):
        raise ValueError(f'cannot locate the source of {dotted_path!r}: module {module_name!r} is not in the '
                         'current folder nor in an installed package (install it, or run from the folder that '
                         'holds it)')
    return Path(spec.origin).resolve().parent


def _py_files(location: Path, recursive: bool) -> List[Path]:
    if location.is_file():
        return [location]
    return sorted(location.rglob('*.py') if recursive else location.glob('*.py'))


def source_fingerprint(locations: Iterable[tuple]) -> str:
    """sha256 over (relative path, content) of the ``.py`` files at ``(path, recursive)`` locations."""
    digest = hashlib.sha256()
    files = sorted({f for location, recursive in locations for f in _py_files(Path(location), recursive)})
    for path in files:
        # Named relative to this package's install location, so a checkout and an installed
        # wheel of the same code give the same key; other code by its absolute path.
        try:
            name = path.relative_to(COMPONENTS_DIR.parent)
        except ValueError:
            name = path
        digest.update(str(name).encode() + b'\0' + path.read_bytes() + b'\0')
    return digest.hexdigest()[:16]


def transform_fingerprint(preprocessing_fn: str) -> str:
    return source_fingerprint([
        (module_folder(preprocessing_fn), False),
        (COMPONENTS_DIR / 'recipes', False),
    ])


def trainer_fingerprint(config: TrainerConfig) -> str:
    """The Trainer's code: its model builder's and weight labels' folders, and components/trainer."""
    paths = [p for p in (config.model_builder, config.task.weight_labels) if p]
    return source_fingerprint([
        *((module_folder(p), False) for p in paths),
        (COMPONENTS_DIR / 'recipes', False),
        (COMPONENTS_DIR / 'trainer', True),
    ])


def keras_file_fingerprint(path: str) -> str:
    """sha256 of a saved Keras model (a file or a SavedModel folder), read through tf.io.gfile.

    The Trainer's cache key would otherwise hold only the path: a model re-saved at the
    same path would be served from the cache.
    """
    import tensorflow as tf  # only when a Keras file is configured: the CLI stays TF-free

    if not tf.io.gfile.exists(path):
        raise ValueError(f'Keras model file {path} does not exist')
    files = ([path] if not tf.io.gfile.isdir(path) else sorted(
        f'{root}/{name}' for root, _, names in tf.io.gfile.walk(path) for name in names))
    digest = hashlib.sha256()
    for name in files:
        with tf.io.gfile.GFile(name, 'rb') as f:
            digest.update(name[len(path):].encode() + b'\0' + f.read() + b'\0')
    return digest.hexdigest()[:16]
