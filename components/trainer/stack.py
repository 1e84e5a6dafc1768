"""Which stack this environment is: ``legacy`` (TensorFlow <= 2.15, with tf.estimator and
model_to_estimator: TFX 1.15) or ``modern`` (TensorFlow >= 2.16, no Estimator: TFX >= 1.16).

Read from the installed distribution's version, so asking does not import TensorFlow.
What exists on one stack only is refused on the other with ``StackError``, naming the stack
that has it and how to get there.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from typing import Tuple

LEGACY = 'legacy'
MODERN = 'modern'
STACKS = (LEGACY, MODERN)
# The last TensorFlow with tf.estimator and model_to_estimator.
LAST_ESTIMATOR_TF = (2, 15)
HOW_TO = {LEGACY: 'make venv (TFX 1.15, TensorFlow 2.15: .venv) and run tke from .venv/bin',
          MODERN: 'make venv-modern (.venv-modern) and run tke from .venv-modern/bin, or make run STACK=modern'}


class StackError(ValueError):
    """Something of one stack asked of the other."""


def _version(text: str) -> Tuple[int, int]:
    major, minor = text.split('.')[:2]
    return int(major), int(''.join(c for c in minor if c.isdigit()) or 0)


@functools.lru_cache(maxsize=1)
def current() -> str:
    """``legacy`` where the installed TensorFlow has the Estimator, else ``modern``."""
    return LEGACY if _version(importlib.metadata.version('tensorflow')) <= LAST_ESTIMATOR_TF else MODERN


def use_keras_2() -> None:
    """On the modern stack, Keras 2 (tf_keras) as ``tf.keras`` where TensorFlow >= 2.16 would give
    Keras 3: TFT and TFMA need it (TFX's own image sets the same). Before TensorFlow is first asked
    for ``tf.keras``; TensorFlow 2.15 would look for tf_keras too, so only there."""
    if current() == MODERN:
        os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')


def describe() -> str:
    """``modern stack (TFX 1.16.0, TensorFlow 2.16.2)``: for messages and the run report."""
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return '?'
    return f'{current()} stack (TFX {version("tfx")}, TensorFlow {version("tensorflow")})'


def legacy_only(what: str) -> StackError:
    """The error for ``what``, which only the legacy stack has, asked on the modern one."""
    return StackError(f'{what} needs the legacy stack (TensorFlow 2.15 with tf.estimator); this is the '
                      f'{describe()}. Use the legacy environment: {HOW_TO[LEGACY]}.')
