"""Helpers shared by the recipes' preprocessing_fns (TFT graph code)."""

from __future__ import annotations

from typing import Tuple

import tensorflow as tf
import tensorflow_transform as tft


def to_dense_scalar(x: tf.Tensor | tf.SparseTensor, default: float | int | str | None = None) -> tf.Tensor:
    """Turns a raw feature (dense ``[batch, 1]`` or sparse ``[batch, <=1]``) into ``[batch]``.

    Missing values (empty CSV cells become absent values) are filled with
    ``default``: 0 for numbers, '' for strings, unless given.
    """
    if default is None:
        default = '' if x.dtype == tf.string else 0
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]),
            default_value=tf.cast(default, x.dtype) if x.dtype != tf.string else default,
        )
    if x.shape.rank == 2:
        x = tf.squeeze(x, axis=1)
    return x


def counted_per_batch(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """Weights of 1 for ``x``'s values, to pass a TFT vocabulary as ``weights``: the same
    vocabulary, faster. (TFT takes a sparse ``x``'s weights per value.)

    Without weights TFT hands Beam every value of every batch to count one at a time (its
    frequency path flattens each batch to a Python list); with weights it counts each
    batch's distinct values in the graph (``tf.unique_with_counts``), and Beam adds up a few
    hundred counts per batch. Ranking (by count, then by value) and the files are the same:
    the counts are sums of 1.0, exact in float32 within a batch and in float64 across them.
    At 100x the taxi data that is 4M elements (four vocabularies of 1M training rows) that
    Beam no longer counts one by one.
    """
    return tf.ones_like(x.values if isinstance(x, tf.SparseTensor) else x, dtype=tf.float32)


def values_and_presence(x: tf.Tensor | tf.SparseTensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """A raw scalar feature (dense ``[batch, 1]`` or sparse ``[batch, <=1]``) as ``[batch]``
    values and a ``[batch]`` mask of the rows that have one (a missing value: 0 or '')."""
    if isinstance(x, tf.SparseTensor):
        shape = [x.dense_shape[0], 1]
        present = tf.sparse.to_dense(tf.SparseTensor(x.indices, tf.ones_like(x.values, tf.bool), shape), False)
        default = '' if x.dtype == tf.string else tf.zeros([], x.dtype)
        values = tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, shape), default_value=default)
        return tf.squeeze(values, axis=1), tf.squeeze(present, axis=1)
    values = tf.reshape(x, [-1])
    return values, tf.ones_like(values, tf.bool)


def filled_with_mean(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A numeric raw feature as ``[batch]`` float32, a missing value replaced by the mean of the
    training values (an analyzer: the constant is in the transform graph, so a served row
    without the feature gets what a training row without it got)."""
    values, present = values_and_presence(x)
    values = tf.cast(values, tf.float32)
    return tf.where(present, values, tft.mean(tf.boolean_mask(values, present)))
