"""The Keras bag-of-words post's model: Dense(512, relu) -> Dropout(0.5) -> Dense(20, softmax).

The bag arrives sparse (a description's distinct word ids); ``SparseBag`` turns
it into a ``[batch, vocabulary]`` SparseTensor of ones, and the first Dense
layer multiplies it sparsely (Keras Dense takes SparseTensors), so no dense
10k-wide batch is built in training or serving either. ``SparseDropout`` drops
words of the bag in training (Keras' Dropout takes only dense tensors): a
description then cannot lean on one telling word (README, "Free text", gives
what it measured).
"""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.text import features as F


@tf.keras.utils.register_keras_serializable(package='tke')
class SparseBag(tf.keras.layers.Layer):
    """Word ids, a ``[batch, n]`` SparseTensor -> ``[batch, size]`` SparseTensor with 1 at each id.

    Ids outside ``[0, size)`` (the out-of-vocabulary id is ``size``) are skipped. A
    plain layer, not a Lambda, so a saved Keras model with it loads without
    running code from the file. An id repeated in a row counts once per repeat.
    """

    def __init__(self, size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size

    def call(self, ids: tf.SparseTensor) -> tf.SparseTensor:
        ids = tf.sparse.retain(ids, tf.logical_and(ids.values >= 0, ids.values < self.size))
        indices = tf.stack([ids.indices[:, 0], tf.cast(ids.values, tf.int64)], axis=1)
        bag = tf.SparseTensor(indices, tf.ones_like(ids.values, dtype=self.compute_dtype),
                              tf.stack([ids.dense_shape[0], tf.constant(self.size, tf.int64)]))
        # Dense's sparse product wants row-major order; ids within a row need not be sorted.
        return tf.sparse.reorder(bag)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), 'size': self.size}


@tf.keras.utils.register_keras_serializable(package='tke')
class SparseDropout(tf.keras.layers.Layer):
    """Dropout for a SparseTensor: in training, each value is kept with probability ``1 - rate``, scaled by its inverse.

    Outside training the bag passes through unchanged. ``model_to_estimator`` sets
    Keras' learning phase per mode, so the Estimator trains with it and evaluates
    and serves without it.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f'SparseDropout rate must be in [0, 1), got {rate}')
        self.rate = float(rate)
        self.seed = seed

    def call(self, bag: tf.SparseTensor, training: Any = None) -> tf.SparseTensor:
        if training is None:
            training = tf.keras.backend.learning_phase()
        if self.rate == 0.0:
            return bag

        def dropped() -> tf.SparseTensor:
            keep = tf.random.uniform(tf.shape(bag.values), seed=self.seed) >= self.rate
            kept = tf.sparse.retain(bag, keep)
            return tf.SparseTensor(kept.indices, kept.values / (1.0 - self.rate), kept.dense_shape)

        if isinstance(training, (bool, int)):
            if not training:
                return bag
            out = dropped()
        else:
            out = tf.cond(tf.cast(training, tf.bool), dropped, lambda: bag)
        # A new SparseTensor (and tf.cond) loses the static width Dense needs; it is the bag's.
        out.set_shape(bag.shape)
        return out

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), 'rate': self.rate, 'seed': self.seed}


def bag_size(tf_transform_output: tft.TFTransformOutput) -> int:
    """The vocabulary actually built: 10,000 words, fewer on small data (the OOV id is left out)."""
    return tf_transform_output.vocabulary_size_by_name(F.VOCAB_FILENAME)


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    """Uncompiled: the trainer compiles it with the recipe's optimizer (legacy Adam)."""
    ids = tf.keras.Input(shape=(None,), sparse=True, dtype=tf.int64, name=F.TRANSFORMED_WORD_IDS_KEY)
    bag = SparseBag(bag_size(tf_transform_output), name='bag_of_words')(ids)
    bag = SparseDropout(float(hparams.get('input_dropout', 0.0)), name='word_dropout')(bag)
    x = tf.keras.layers.Dense(int(hparams.get('hidden_units', 512)), activation='relu', name='hidden')(bag)
    x = tf.keras.layers.Dropout(float(hparams.get('dropout', 0.5)), name='dropout')(x)
    output = tf.keras.layers.Dense(F.NUM_CLASSES, activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs={F.TRANSFORMED_WORD_IDS_KEY: ids}, outputs=output, name='text_bag_of_words')
