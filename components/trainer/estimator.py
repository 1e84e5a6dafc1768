"""Keras model -> Estimator, with the serving signatures TF Serving users expect.

``model_to_estimator`` exports only a ``serving_default`` predict signature. We
keep its model_fn (training, evaluation, Keras weight warm start) and add a
``regression`` or ``classification`` signature in PREDICT mode, so TF Serving's
Predict and Classify/Regress APIs both work on the pushed model.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

import tensorflow as tf
from absl import logging

from tfx_keras_estimator.components.trainer.config import TrainerConfig
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, MULTICLASS_CLASSIFICATION, REGRESSION

REGRESSION_SIGNATURE = 'regression'
CLASSIFICATION_SIGNATURE = 'classification'


def make_run_config(model_dir: str, config: TrainerConfig, train_steps: int) -> tf.estimator.RunConfig:
    """Checkpoints and TensorBoard events go to ``model_dir`` (the ModelRun artifact).

    RunConfig also reads TF_CONFIG, which is how a multi-worker cluster is described.
    """
    checkpoint_steps = config.save_checkpoints_steps or max(100, train_steps // 10)
    return tf.estimator.RunConfig(
        model_dir=model_dir,
        save_checkpoints_steps=checkpoint_steps,
        keep_checkpoint_max=config.keep_checkpoint_max,
        save_summary_steps=config.save_summary_steps,
        log_step_count_steps=max(100, train_steps // 10),
        tf_random_seed=config.random_seed,
    )


def add_task_signature(model_fn: Callable, task: str, prediction_key: str,
                       class_labels: Sequence[str] = ()) -> Callable:
    """Wraps an Estimator model_fn so PREDICT mode also exports a classify/regress signature."""

    def wrapped(features, labels, mode, config):
        spec = model_fn(features, labels, mode, config)
        if mode != tf.estimator.ModeKeys.PREDICT:
            return spec
        if prediction_key not in spec.predictions:
            raise ValueError(
                f'the Keras model has no output named {prediction_key!r}; its outputs are '
                f'{sorted(spec.predictions)}. Name the output layer {prediction_key!r}.')
        prediction = spec.predictions[prediction_key]
        outputs = dict(spec.export_outputs)
        if task == REGRESSION:
            outputs[REGRESSION_SIGNATURE] = tf.estimator.export.RegressionOutput(value=prediction)
        else:
            scores = _class_scores(prediction, task)
            outputs[CLASSIFICATION_SIGNATURE] = tf.estimator.export.ClassificationOutput(
                scores=scores, classes=_class_names(scores, class_labels))
        return spec._replace(export_outputs=outputs)

    return wrapped


def _class_scores(prediction: tf.Tensor, task: str) -> tf.Tensor:
    if task == BINARY_CLASSIFICATION:
        # A sigmoid unit gives P(class 1); classify wants one score per class.
        p = tf.reshape(prediction, [-1, 1])
        return tf.concat([1.0 - p, p], axis=1)
    if task == MULTICLASS_CLASSIFICATION:
        return prediction
    raise ValueError(f'task {task!r} has no class scores')


def _class_names(scores: tf.Tensor, class_labels: Sequence[str]) -> tf.Tensor:
    num_classes = scores.shape[-1]
    labels = list(class_labels) or [str(i) for i in range(num_classes)]
    if len(labels) != num_classes:
        raise ValueError(f'{len(labels)} class labels for {num_classes} model output classes')
    return tf.tile(tf.constant([labels]), [tf.shape(scores)[0], 1])


def base_model_warm_start(base_model_dir: str, model: tf.keras.Model) -> Optional[tf.estimator.WarmStartSettings]:
    """Warm start from a previous serving SavedModel, on the variables that still fit.

    Only trainable variables present in the base model with the same shape are
    taken (a grown vocabulary changes a layer's shape); the rest start fresh.
    """
    checkpoint = f'{base_model_dir.rstrip("/")}/variables/variables'
    if not tf.io.gfile.exists(checkpoint + '.index'):
        logging.warning('base model %s has no variables; training from scratch', base_model_dir)
        return None
    base_shapes = dict(tf.train.list_variables(checkpoint))
    names, skipped = [], []
    for weight in model.trainable_weights:
        name = weight.name.split(':')[0]
        (names if base_shapes.get(name) == list(weight.shape) else skipped).append(name)
    if skipped:
        logging.warning('warm start: not taking %s from %s (absent or another shape)', skipped, base_model_dir)
    if not names:
        return None
    logging.info('warm start: %d variables from %s', len(names), checkpoint)
    return tf.estimator.WarmStartSettings(
        ckpt_to_initialize_from=checkpoint,
        vars_to_warm_start=[re.escape(n) + r'(/part_\d+)?:\d+$' for n in names])


def to_estimator(model: tf.keras.Model, run_config: tf.estimator.RunConfig, task: str,
                 prediction_key: str, class_labels: Sequence[str] = (),
                 base_model_dir: Optional[str] = None) -> tf.estimator.Estimator:
    """Converts a compiled Keras model with model_to_estimator and adds the task signature."""
    # Name-based ('saver') checkpoints: variables keep their layer names
    # (prediction/kernel), which is what Estimator's warm start and TF1 tools match on.
    keras_estimator = tf.keras.estimator.model_to_estimator(
        keras_model=model, config=run_config, checkpoint_format='saver')
    warm_start = base_model_warm_start(base_model_dir, model) if base_model_dir else None
    if warm_start is None:
        # model_to_estimator warm-starts from the Keras model's own weights (saved
        # under model_dir/keras); keep that, it has no public accessor.
        warm_start = keras_estimator._warm_start_settings  # noqa: SLF001
    return with_task_signature(keras_estimator, task, prediction_key, class_labels, warm_start_from=warm_start)


def with_task_signature(keras_estimator: tf.estimator.Estimator, task: str, prediction_key: str,
                        class_labels: Sequence[str] = (),
                        warm_start_from: Optional[tf.estimator.WarmStartSettings] = None) -> tf.estimator.Estimator:
    """model_to_estimator's Estimator, re-made with the task signature added to its model_fn."""
    return tf.estimator.Estimator(
        model_fn=add_task_signature(keras_estimator.model_fn, task, prediction_key, class_labels),
        config=keras_estimator.config,
        warm_start_from=warm_start_from,
    )
