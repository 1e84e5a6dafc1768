"""The Keras bag-of-words post's model: Dense(512, relu) -> Dropout(0.5) -> Dense(20, softmax).

The bag arrives sparse (a description's distinct word ids); ``SparseBag`` turns
it into a ``[batch, vocabulary]`` SparseTensor of ones, and the first Dense
layer multiplies it sparsely (Keras Dense takes SparseTensors), so no dense
10k-wide batch is built in training or serving either.
"""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft

from components.recipes.text import features as F


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


def bag_size(tf_transform_output: tft.TFTransformOutput) -> int:
    """The vocabulary actually built: 10,000 words, fewer on small data (the OOV id is left out)."""
    return tf_transform_output.vocabulary_size_by_name(F.VOCAB_FILENAME)


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    """Uncompiled: the trainer compiles it with the recipe's optimizer (legacy Adam)."""
    ids = tf.keras.Input(shape=(None,), sparse=True, dtype=tf.int64, name=F.TRANSFORMED_WORD_IDS_KEY)
    bag = SparseBag(bag_size(tf_transform_output), name='bag_of_words')(ids)
    x = tf.keras.layers.Dense(int(hparams.get('hidden_units', 512)), activation='relu', name='hidden')(bag)
    x = tf.keras.layers.Dropout(float(hparams.get('dropout', 0.5)), name='dropout')(x)
    output = tf.keras.layers.Dense(F.NUM_CLASSES, activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs={F.TRANSFORMED_WORD_IDS_KEY: ids}, outputs=output, name='text_bag_of_words')
