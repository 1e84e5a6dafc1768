"""Wide & deep Keras model for the taxi recipe.

Wide: one-hot ids (vocabularies, buckets, identities) straight into the output
unit, which memorizes e.g. "cash trips record no tip". Deep: standardized numbers
and the same ids through hidden layers, which generalize across fares and times.
"""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.taxi import features as F
from tfx_keras_estimator.components.trainer.layers import one_hot, scalar_column


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    inputs = {}
    numeric, ids = [], []
    for key in F.NUMERIC_FEATURE_KEYS:
        name = transformed_name(key)
        inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.float32)
        numeric.append(scalar_column(inputs[name]))
    id_sizes = {key: F.BUCKET_COUNT for key in F.BUCKET_FEATURE_KEYS}
    id_sizes.update({key: tf_transform_output.vocabulary_size_by_name(key) + F.OOV_BUCKETS
                     for key in F.VOCAB_FEATURE_KEYS})
    id_sizes.update(F.IDENTITY_FEATURE_SIZES)
    for key, size in id_sizes.items():
        name = transformed_name(key)
        inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
        ids.append(one_hot(inputs[name], size))

    # L2 keeps the logits finite: unregularized, cash trips (which never record a
    # tip) are pushed to probabilities of 1e-20 and below, where thresholded AUC
    # metrics can no longer rank them.
    regularizer = tf.keras.regularizers.l2(hparams.get('l2', 0.0)) if hparams.get('l2') else None
    wide = tf.keras.layers.Concatenate(name='wide')(ids)
    deep = tf.keras.layers.Concatenate(name='deep_input')(numeric + ids)
    for i, units in enumerate(hparams.get('deep_units', [32])):
        deep = tf.keras.layers.Dense(units, activation='relu', kernel_regularizer=regularizer,
                                     name=f'deep_{i}')(deep)
    both = tf.keras.layers.Concatenate(name='wide_and_deep')([wide, deep])
    output = tf.keras.layers.Dense(1, activation='sigmoid', kernel_regularizer=regularizer,
                                   name='prediction')(both)
    return tf.keras.Model(inputs=inputs, outputs=output, name='taxi_wide_and_deep')
