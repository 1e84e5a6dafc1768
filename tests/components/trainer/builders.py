"""Model builders named by dotted path in the Trainer tests (as a user's own would be)."""

from __future__ import annotations

import tensorflow as tf

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F


def numeric_only(tf_transform_output, hparams):
    """A user's own housing model: only the numeric features, two layers."""
    inputs = {transformed_name(k): tf.keras.Input(shape=(), name=transformed_name(k))
              for k in F.NUMERIC_FEATURE_KEYS}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    x = tf.keras.layers.Dense(8, activation='relu')(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))


def misnamed_input(tf_transform_output, hparams):
    inputs = {'rooms': tf.keras.Input(shape=(), name='rooms')}
    x = tf.keras.layers.Reshape((1,))(inputs['rooms'])
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))


def not_a_model(tf_transform_output, hparams):
    """What a broken builder returns instead of a Keras model."""
    return 'a model'
