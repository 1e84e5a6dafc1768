"""Which stack this is, read without TensorFlow, agrees with the TensorFlow installed; what one
stack lacks is refused naming the other."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfx_keras_estimator.components.trainer import stack

pytestmark = pytest.mark.both_stacks


def test_the_stack_is_the_one_whose_tensorflow_has_or_lacks_the_estimator():
    assert stack.current() == (stack.LEGACY if hasattr(tf, 'estimator') else stack.MODERN)
    assert stack.describe().startswith(f'{stack.current()} stack (TFX 1.')


def test_importing_the_package_makes_tf_keras_keras_2_on_either_stack():
    """TFT's Keras layer and TFMA need Keras 2: on the modern stack, tf_keras stands in for Keras 3
    once the package is imported, before anything else (here TFT, which would set it too) is."""
    code = ('import tfx_keras_estimator.components, tensorflow as tf; print(tf.keras.Model.__module__)')
    env = {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}
    module = subprocess.run([sys.executable, '-c', code], env={**env, 'TF_CPP_MIN_LOG_LEVEL': '3'},
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    # Keras 2's Model lives in <keras or tf_keras>.src.engine; Keras 3's in keras.src.models.
    assert module.split('.')[0] == ('keras' if stack.current() == stack.LEGACY else 'tf_keras'), module
    assert '.src.engine.' in module, module


def test_legacy_only_names_the_stack_and_the_way_there():
    message = str(stack.legacy_only("Trainer mode 'canned'"))
    assert "Trainer mode 'canned' needs the legacy stack" in message
    assert stack.HOW_TO[stack.LEGACY] in message and f'this is the {stack.current()} stack' in message
    assert isinstance(stack.legacy_only('x'), ValueError)


@pytest.mark.parametrize('version, expected', [('2.15.1', stack.LEGACY), ('2.16.2', stack.MODERN),
                                               ('2.21.0', stack.MODERN), ('2.9.3', stack.LEGACY)])
def test_the_version_rule(version, expected):
    assert (stack.LEGACY if stack._version(version) <= stack.LAST_ESTIMATOR_TF else stack.MODERN) == expected
