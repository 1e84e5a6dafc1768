"""Estimator input_fns over Transform's materialized output, or over raw examples with the
transform graph applied as they are read (Transform run with ``materialize=False``)."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
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


def shard_files(file_pattern: Sequence[str], shard: Tuple[int, int]) -> Optional[List[str]]:
    """This task's files when there are at least as many files as training tasks, else None.

    Files are split by task index (every ``count``-th file, in sorted order, the same on
    every task): each task then reads and parses only its part. Parts differ by at most one
    file (ExampleGen's shards are of about equal size). With fewer files than tasks some
    task would get none, so the caller splits the batches instead.
    """
    index, count = shard
    files = sorted({name for pattern in file_pattern for name in tf.io.gfile.glob(pattern)})
    return files[index::count] if len(files) >= count else None


def make_input_fn(file_pattern: List[str], data_accessor: tfx.components.DataAccessor,
                  tf_transform_output: tft.TFTransformOutput, label_key: str,
                  feature_keys: Sequence[str], batch_size: int, shuffle: bool = True,
                  seed: int | None = None, raw: bool = False,
                  shard: Optional[Tuple[int, int]] = None) -> Callable[[], InputFnResult]:
    """An input_fn yielding ``(features, label)`` batches forever.

    Only the features the model takes are kept: the rest would be parsed and
    carried through every step for nothing. With ``raw``, the files hold raw examples
    and the transform graph turns each batch into what the model takes.

    ``shard`` (``(task index, training tasks)``, see ``cluster.training_shard``): this task
    reads its own part of the data, so the tasks of a cluster do not train on the same
    batches. By files when there are enough (``shard_files``); otherwise every task reads
    the same stream, shuffled with the same ``seed``, and keeps every ``count``-th batch of
    it: the tasks' batches are then disjoint parts of each epoch (the data accessor batches
    before we see the records, hence batches, not records). Only for training input: an
    evaluation reads the whole split.
    """
    keys = tuple(feature_keys)
    shard_batches: Optional[Tuple[int, int]] = None
    if shard is not None:
        own_files = shard_files(file_pattern, shard)
        if own_files is not None:
            logging.info('training task %d of %d reads %d of the files of %s', shard[0], shard[1],
                         len(own_files), file_pattern)
            file_pattern = own_files
        else:
            if shuffle and seed is None:
                raise ValueError('splitting shuffled batches between training tasks needs a shuffle seed that '
                                 'every task shares (got None): each would shuffle its own way')
            shard_batches = shard
            logging.info('training task %d of %d keeps one batch in %d of %s (fewer files than tasks), '
                         'shuffle seed %s', shard[0], shard[1], shard[1], file_pattern, seed)

    def own_part(dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset if shard_batches is None else dataset.shard(shard_batches[1], shard_batches[0])

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
        return own_part(dataset).map(lambda features, label: (inputs(features), as_column(label)))

    def raw_input_fn() -> InputFnResult:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern,
            tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle=shuffle, shuffle_seed=seed),
            tf_transform_output.raw_metadata.schema)
        dataset = own_part(dataset)
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
