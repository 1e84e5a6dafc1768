"""The generic Keras model: wide & deep over whatever the transformed feature spec holds.

Float features are numeric inputs; integer features with a known range (vocabulary ids,
quantile buckets: TFT annotates their size) are categorical, embedded for the deep part
and one-hot for the wide part. Deep: Dense layers over the numerics and the embeddings;
wide: the numerics and the one-hots; one output unit per the task (``task`` comes from
run_fn: a builder that takes ``task`` is given the TaskSpec), named the task's prediction
key. For regression the output is scaled by the label's mean and standard deviation
(``label_mean``, ``label_std`` hyperparameters, which ``tke init`` measures), so the layers
learn a z-scored target but serve in the label's units. Left uncompiled: the Trainer
compiles it with the task's loss and metrics and a legacy optimizer.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.generic.hparams import DEFAULT_HPARAMS
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, REGRESSION, TaskSpec


def embedding_dim(categories: int) -> int:
    """A common rule of thumb (fastai's): 1.6 * n^0.56, at most 16 here."""
    return max(2, min(16, round(1.6 * categories ** 0.56)))


def _buckets(tf_transform_output: tft.TFTransformOutput, key: str) -> int | None:
    try:
        return int(tf_transform_output.num_buckets_for_transformed_feature(key))
    except ValueError:
        return None


def build(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any], task: TaskSpec) -> tf.keras.Model:
    l2 = tf.keras.regularizers.l2(float(hparams.get('l2', DEFAULT_HPARAMS['l2'])))
    inputs: Dict[str, tf.keras.Input] = {}
    numeric: List[tf.Tensor] = []
    embedded: List[tf.Tensor] = []
    one_hot: List[tf.Tensor] = []
    for key, spec in sorted(tf_transform_output.transformed_feature_spec().items()):
        if key == task.transformed_label_key:
            continue
        if not isinstance(spec, tf.io.FixedLenFeature) or spec.shape not in ((), [], (1,), [1]):
            raise ValueError(f'the generic model takes scalar transformed features; {key!r} is {spec}')
        if spec.dtype == tf.float32:
            inputs[key] = tf.keras.Input(shape=(), name=key)
            numeric.append(tf.keras.layers.Reshape((1,))(inputs[key]))
            continue
        size = _buckets(tf_transform_output, key)
        if size is None:
            raise ValueError(f'integer feature {key!r} has no known range (a TFT vocabulary or bucketize gives one)')
        # In range: the generic preprocessing_fn's vocabularies have OOV buckets (counted in the
        # annotated size), and quantile buckets are 0..n-1.
        inputs[key] = ids = tf.keras.Input(shape=(), name=key, dtype=tf.int64)
        embedded.append(tf.keras.layers.Embedding(size, embedding_dim(size), name=f'{key}_embedding')(ids))
        one_hot.append(tf.keras.layers.CategoryEncoding(size, output_mode='one_hot', name=f'{key}_one_hot')(ids))
    if not inputs:
        raise ValueError('no transformed feature besides the label: the generic model has no input')

    def concat(parts: List[tf.Tensor]) -> tf.Tensor:
        return parts[0] if len(parts) == 1 else tf.keras.layers.Concatenate()(parts)

    deep = concat(numeric + embedded)
    dropout = float(hparams.get('dropout', DEFAULT_HPARAMS['dropout']))
    for units in hparams.get('hidden_units', DEFAULT_HPARAMS['hidden_units']):
        deep = tf.keras.layers.Dense(int(units), activation='relu', kernel_regularizer=l2)(deep)
        if dropout:
            deep = tf.keras.layers.Dropout(dropout)(deep)
    combined = concat([deep] + numeric + one_hot)
    if task.task == REGRESSION:
        z = tf.keras.layers.Dense(1, kernel_regularizer=l2, name='z_prediction')(combined)
        std, mean = float(hparams.get('label_std', 1.0)), float(hparams.get('label_mean', 0.0))
        if not math.isfinite(std) or std <= 0:
            std = 1.0
        output = tf.keras.layers.Rescaling(std, offset=mean, name=task.prediction_key)(z)
    elif task.task == BINARY_CLASSIFICATION:
        output = tf.keras.layers.Dense(1, activation='sigmoid', kernel_regularizer=l2, name=task.prediction_key)(
            combined)
    else:
        output = tf.keras.layers.Dense(task.num_classes, activation='softmax', kernel_regularizer=l2,
                                       name=task.prediction_key)(combined)
    return tf.keras.Model(inputs, output)
