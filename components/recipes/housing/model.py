"""The cookbook seed's housing model: a linear regressor over standardized,
one-hot and crossed features, with BatchNormalization in front of one Dense unit."""

from __future__ import annotations

from typing import Any, Dict, List

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F
from tfx_keras_estimator.components.trainer.layers import one_hot, scalar_column


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


def weight_labels(tf_transform_output: tft.TFTransformOutput) -> List[str]:
    """A readable label for each input of the output unit, in the order build_keras_model
    concatenates them: numeric features, vocabulary values, buckets, crossed buckets."""
    labels = list(F.NUMERIC_FEATURE_KEYS)
    for key in F.CATEGORICAL_FEATURE_KEYS:
        vocabulary = [v.decode() if isinstance(v, bytes) else str(v)
                      for v in tf_transform_output.vocabulary_by_name(key)]
        labels += [f'{key}={v}' for v in vocabulary] + [f'{key}=<other>'] * F.VOCAB_OOV_BUCKETS
    for key in F.CROSS_FEATURE_KEYS:
        labels += [f'{key} quantile bucket {i}' for i in range(F.CROSS_BUCKETS_PER_FEATURE)]
    # Which (rm bucket, lstat bucket) pairs land in each hash bucket, with the preprocessing's hash.
    n = F.CROSS_BUCKETS_PER_FEATURE
    pairs = [(a, b) for a in range(n) for b in range(n)]
    hashed = tf.strings.to_hash_bucket_fast([f'{a}_x_{b}' for a, b in pairs], F.CROSS_HASH_BUCKETS).numpy()
    members: Dict[int, List[str]] = {}
    first, second = F.CROSS_FEATURE_KEYS
    for (a, b), bucket in zip(pairs, hashed, strict=True):
        members.setdefault(int(bucket), []).append(f'{first} bucket {a} x {second} bucket {b}')
    labels += [' | '.join(members.get(i, ['(unused hash bucket)'])) for i in range(F.CROSS_HASH_BUCKETS)]
    return labels
