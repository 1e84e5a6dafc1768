"""Helpers shared by the recipes' preprocessing_fns (TFT graph code)."""

from __future__ import annotations

import tensorflow as tf


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
