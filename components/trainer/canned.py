"""A pre-made (canned) Estimator on the same Transform output: the baseline to beat.

The Estimator literature's advice: start from a pre-made Estimator, then go
custom. The pipeline can train one beside the Keras model (same data, same
steps) so the Evaluator shows whether the custom model earns its keep.

Feature columns come from the transformed feature spec, so any task gets one:
float features are numeric columns (of their shape), integer features are
categorical identity columns sized from TFT's annotations (vocabularies,
buckets; others are hashed); variable-length integer lists (a bag of word ids) too.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging

from tfx_keras_estimator.components.trainer.model import auc_metric
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, CANNED_ESTIMATORS, REGRESSION, TaskSpec

LINEAR, DNN = CANNED_ESTIMATORS
KINDS = CANNED_ESTIMATORS
DEFAULT_HIDDEN_UNITS = (128, 64)


# Integer features with no range in the transformed schema (e.g. ids a preprocessing_fn
# hashed itself) are hashed once more into this many buckets.
UNKNOWN_RANGE_HASH_BUCKETS = 1000


def _num_buckets(tf_transform_output: tft.TFTransformOutput, key: str) -> Optional[int]:
    try:
        return int(tf_transform_output.num_buckets_for_transformed_feature(key))
    except ValueError:  # no domain annotated by a TFT vocabulary or bucketizer
        return None


def _categorical(tf_transform_output: tft.TFTransformOutput, key: str):
    buckets = _num_buckets(tf_transform_output, key)
    if buckets is None:
        logging.info('canned baseline: %r has no known range; hashing it into %d buckets',
                     key, UNKNOWN_RANGE_HASH_BUCKETS)
        return tf.feature_column.categorical_column_with_hash_bucket(
            key, UNKNOWN_RANGE_HASH_BUCKETS, dtype=tf.int64)
    # One more bucket for out-of-vocabulary ids (TFT's default -1), which would
    # otherwise be an error inside the column.
    return tf.feature_column.categorical_column_with_identity(key, num_buckets=buckets + 1, default_value=buckets)


def feature_columns(tf_transform_output: tft.TFTransformOutput, label_key: str,
                    kind: str) -> Tuple[List[Any], List[str]]:
    """Feature columns for every transformed feature but the label, and their keys."""
    if kind not in KINDS:
        raise ValueError(f'canned baseline kind {kind!r} is not one of {KINDS}')
    columns, keys = [], []
    for key, spec in sorted(tf_transform_output.transformed_feature_spec().items()):
        if key == label_key:
            continue
        if spec.dtype == tf.float32 and isinstance(spec, tf.io.FixedLenFeature):
            # Scalars parse to [batch]; a shape of (1,) reads them as [batch, 1].
            columns.append(tf.feature_column.numeric_column(key, shape=tuple(spec.shape) or (1,)))
        elif spec.dtype == tf.int64:
            column = _categorical(tf_transform_output, key)
            columns.append(column if kind == LINEAR else tf.feature_column.indicator_column(column))
        else:
            raise ValueError(f'transformed feature {key!r} ({type(spec).__name__} of {spec.dtype.name}) '
                             'has no canned feature column; only float and integer features do')
        keys.append(key)
    return columns, keys


def _metric_fn(task: str):
    """The Keras model's metric names on the canned Estimator, so both can be compared by name."""

    def regression_metrics(labels, predictions):
        value = predictions['predictions']
        return {'rmse': tf.compat.v1.metrics.root_mean_squared_error(labels, value),
                'mae': tf.compat.v1.metrics.mean_absolute_error(labels, value)}

    def binary_metrics(labels, predictions):
        # Replaces the canned 'auc' (200 even thresholds) by the Keras model's, so the two compare.
        auc = auc_metric()
        auc.update_state(labels, predictions['logistic'])
        return {'auc': auc}

    # Canned classifiers already report 'accuracy'.
    return {REGRESSION: regression_metrics, BINARY_CLASSIFICATION: binary_metrics}.get(task)


def make_estimator(task: TaskSpec, columns: List[Any], run_config: tf.estimator.RunConfig,
                   hparams: Dict[str, Any]) -> tf.estimator.Estimator:
    """LinearRegressor / LinearClassifier, or their DNN counterparts, for the task.

    Hyperparameters: ``canned_hidden_units`` (DNN), ``canned_learning_rate``; the
    optimizers are the canned defaults (Ftrl for linear, Adagrad for DNN).
    """
    kind = task.canned_estimator
    lr = hparams.get('canned_learning_rate')
    optimizer = {} if lr is None else {'optimizer': (
        tf.compat.v1.train.FtrlOptimizer(float(lr)) if kind == LINEAR else tf.compat.v1.train.AdagradOptimizer(
            float(lr)))}
    hidden = {'hidden_units': list(hparams.get('canned_hidden_units', DEFAULT_HIDDEN_UNITS))} if kind == DNN else {}
    if task.task == REGRESSION:
        cls = tf.estimator.LinearRegressor if kind == LINEAR else tf.estimator.DNNRegressor
        estimator = cls(feature_columns=columns, config=run_config, **optimizer, **hidden)
    else:
        n_classes = task.num_classes
        if not n_classes:
            raise ValueError('a multiclass pre-made Estimator needs the class_labels of the task spec')
        cls = tf.estimator.LinearClassifier if kind == LINEAR else tf.estimator.DNNClassifier
        estimator = cls(feature_columns=columns, n_classes=n_classes, config=run_config,
                        label_vocabulary=None, **optimizer, **hidden)
    metric_fn = _metric_fn(task.task)
    return tf.estimator.add_metrics(estimator, metric_fn) if metric_fn else estimator
