"""The cookbook seed's housing model: a linear regressor over standardized,
one-hot and crossed features, with BatchNormalization in front of one Dense unit."""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft

from components.recipes.common import transformed_name
from components.recipes.housing import features as F
from components.trainer.layers import one_hot, scalar_column


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    inputs = {}
    parts = []
    for key in F.NUMERIC_FEATURE_KEYS:
        name = transformed_name(key)
        inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.float32)
        parts.append(scalar_column(inputs[name]))
    for key in F.CATEGORICAL_FEATURE_KEYS:
        name = transformed_name(key)
        inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
        size = tf_transform_output.vocabulary_size_by_name(key) + F.VOCAB_OOV_BUCKETS
        parts.append(one_hot(inputs[name], size))
    for key in F.CROSS_FEATURE_KEYS:
        name = transformed_name(f'{key}_bucket')
        inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
        parts.append(one_hot(inputs[name], F.CROSS_BUCKETS_PER_FEATURE))
    name = F.TRANSFORMED_CROSS_KEY
    inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
    parts.append(one_hot(inputs[name], F.CROSS_HASH_BUCKETS))

    x = tf.keras.layers.Concatenate(name='features')(parts)
    x = tf.keras.layers.BatchNormalization(name='batch_norm')(x)
    output = tf.keras.layers.Dense(1, name='prediction')(x)
    return tf.keras.Model(inputs=inputs, outputs=output, name='housing_linear')
