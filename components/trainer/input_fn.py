"""Estimator input_fns over Transform's materialized output, or over raw examples with the
transform graph applied as they are read (Transform run with ``materialize=False``)."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple, Union

import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

# What an Estimator takes from an input_fn: a dataset, or (features, label) tensors.
InputFnResult = Union[tf.data.Dataset, Tuple[Dict[str, tf.Tensor], tf.Tensor]]


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
                  seed: int | None = None, raw: bool = False) -> Callable[[], InputFnResult]:
    """An input_fn yielding ``(features, label)`` batches forever.

    Only the features the model takes are kept: the rest would be parsed and
    carried through every step for nothing. With ``raw``, the files hold raw examples
    and the transform graph turns each batch into what the model takes.
    """
    keys = tuple(feature_keys)

    def inputs(features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return {k: features[k] for k in keys}

    def pick(features: Dict[str, tf.Tensor]) -> Tuple[Dict[str, tf.Tensor], tf.Tensor]:
        return inputs(features), as_column(features[label_key])

    def transformed_input_fn() -> tf.data.Dataset:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern,
            tfxio.TensorFlowDatasetOptions(
                batch_size=batch_size, label_key=label_key, shuffle=shuffle, shuffle_seed=seed),
            tf_transform_output.transformed_metadata.schema)
        return dataset.map(lambda features, label: (inputs(features), as_column(label)))

    def raw_input_fn() -> InputFnResult:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern,
            tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle=shuffle, shuffle_seed=seed),
            tf_transform_output.raw_metadata.schema)
        if tf.executing_eagerly():
            # Keras fit (mode keras_fit): TFT's Keras layer, as in TFX's Keras examples.
            layer = tf_transform_output.transform_features_layer()
            return dataset.map(lambda features: pick(layer(features)))
        # An Estimator's graph: the transform graph is imported after the iterator, not
        # inside a dataset function, so its vocabulary tables are initialized with the
        # Estimator's own (the serving graph imports it the same way).
        features = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        return pick(tf_transform_output.transform_raw_features(features))

    return raw_input_fn if raw else transformed_input_fn
