"""Small Keras building blocks for models fed by TFT output.

TFT scalar features arrive with shape ``[batch]``; Keras layers that combine
features want ``[batch, n]``. These helpers do that reshaping in the model, so
``Input(shape=())`` matches what the estimator's input_fn and serving graph feed.
"""

from __future__ import annotations

import tensorflow as tf


def scalar_column(x: tf.Tensor) -> tf.Tensor:
    """A ``[batch]`` float input as a ``[batch, 1]`` column."""
    return tf.keras.layers.Reshape((1,), name=f'{_base(x)}_col')(x)


def one_hot(x: tf.Tensor, num_tokens: int) -> tf.Tensor:
    """A ``[batch]`` integer id input (vocabulary index, bucket, hash) as one-hot ``[batch, n]``."""
    return tf.keras.layers.CategoryEncoding(
        num_tokens=num_tokens, output_mode='one_hot', name=f'{_base(x)}_onehot')(x)


def _base(x: tf.Tensor) -> str:
    # Keras symbolic inputs are named after their Input layer.
    return x.name.split(':')[0].split('/')[0]
