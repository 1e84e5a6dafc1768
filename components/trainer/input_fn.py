"""Estimator input_fns over Transform's materialized output."""

from __future__ import annotations

from typing import Callable, List, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio


def as_column(label: tf.Tensor) -> tf.Tensor:
    """``[batch]`` labels as ``[batch, 1]``, the shape of a one-unit output.

    Keras losses reconcile the two shapes, but not every metric does: AUC
    compares a ``[batch]`` label with a ``[batch, 1]`` prediction as a
    ``[batch, batch]`` grid, and reports a wrong value without a word.
    """
    return tf.expand_dims(label, -1) if label.shape.rank == 1 else label


def make_input_fn(file_pattern: List[str], data_accessor: tfx.components.DataAccessor,
                  tf_transform_output: tft.TFTransformOutput, label_key: str,
                  feature_keys: Sequence[str], batch_size: int, shuffle: bool = True,
                  seed: int | None = None) -> Callable[[], tf.data.Dataset]:
    """An input_fn yielding ``(features, label)`` batches forever.

    Only the features the model takes are kept: the rest would be parsed and
    carried through every step for nothing.
    """
    keys = tuple(feature_keys)

    def input_fn() -> tf.data.Dataset:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern,
            tfxio.TensorFlowDatasetOptions(
                batch_size=batch_size, label_key=label_key, shuffle=shuffle, shuffle_seed=seed),
            tf_transform_output.transformed_metadata.schema)
        return dataset.map(lambda features, label: ({k: features[k] for k in keys}, as_column(label)))

    return input_fn
