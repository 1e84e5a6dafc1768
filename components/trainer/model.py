"""Building and compiling the Keras model that model_to_estimator converts."""

from __future__ import annotations

import importlib
import inspect
import math
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.trainer.config import OPTIMIZERS
from tfx_keras_estimator.components.trainer.renamed import current_name
from tfx_keras_estimator.components.trainer.task import (
    BINARY_CLASSIFICATION,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    TaskSpec,
)

ModelBuilder = Callable[[tft.TFTransformOutput, Dict[str, Any]], tf.keras.Model]


def import_by_path(dotted_path: str) -> Any:
    """Imports ``package.module.attr`` (or ``package.module:attr``); a clear ValueError when it is not there.

    The error says where Python looked, and what to do: install the package, or run
    from the folder that holds it.
    """
    dotted_path = current_name(dotted_path)
    module_name, sep, attr = dotted_path.rpartition(':')
    if not sep:
        module_name, _, attr = dotted_path.rpartition('.')
    if not module_name or not attr:
        raise ValueError(f'{dotted_path!r} is not a dotted path like "package.module.function"')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name != e.name and not module_name.startswith(e.name + '.'):
            raise ValueError(f'module {module_name!r} of {dotted_path!r} imports {e.name!r}, which is not '
                             f'installed: {e}') from e
        raise ValueError(
            f'cannot import module {module_name!r} of {dotted_path!r}: {e}. Looked in the current folder '
            f'({os.getcwd()}) and the installed packages ({_site_dirs()}); install the package that holds it '
            f'(pip install ...), or run from the folder that holds {module_name.split(".")[0]!r}') from e
    except ImportError as e:
        raise ValueError(f'cannot import module {module_name!r} of {dotted_path!r}: {e}') from e
    if not hasattr(module, attr):
        raise ValueError(f'module {module_name!r} ({getattr(module, "__file__", None) or "a namespace package"}) '
                         f'has no attribute {attr!r} (from {dotted_path!r})')
    return getattr(module, attr)


def _site_dirs() -> str:
    return ', '.join(p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))) or 'none'


def build_model(builder: ModelBuilder, tf_transform_output: tft.TFTransformOutput,
                hparams: Dict[str, Any], where: Optional[str] = None,
                task: Optional[TaskSpec] = None) -> tf.keras.Model:
    """Calls ``builder(tf_transform_output, hparams)``, plus ``task=`` (the TaskSpec) if it takes one.

    A builder that knows the task (a generic one) sizes its output from it instead of
    repeating the task in its hyperparameters.
    """
    try:
        takes_task = 'task' in inspect.signature(builder).parameters
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        takes_task = False
    model = builder(tf_transform_output, hparams, task=task) if takes_task else builder(tf_transform_output, hparams)
    if not isinstance(model, tf.keras.Model):
        raise ValueError(f'model builder {where or repr(getattr(builder, "__qualname__", builder))} returned '
                         f'{type(model).__name__}, not a tf.keras.Model')
    return model


def check_model_inputs(model: tf.keras.Model, feature_keys: Iterable[str], label_key: str) -> List[str]:
    """Checks every model input is a transformed feature (model_to_estimator matches by name).

    Returns the model's input names; a ValueError lists the model inputs and the
    available features when they do not match.
    """
    return check_input_names(model.input_names, feature_keys, label_key)


def check_input_names(input_names: Iterable[str], feature_keys: Iterable[str], label_key: str) -> List[str]:
    """``check_model_inputs`` on names only: for a saved model that is not loaded yet."""
    available = sorted(k for k in feature_keys if k != label_key)
    inputs = list(input_names)
    if label_key in inputs:
        raise ValueError(
            f'the model takes the label {label_key!r} as an input; remove it. Model inputs: {inputs}')
    missing = [name for name in inputs if name not in available]
    if missing:
        raise ValueError(
            f'model inputs {missing} are not transformed features. Name each tf.keras.Input '
            f'after a Transform output key.\n  model inputs: {inputs}\n  available features: {available}')
    return inputs


def make_optimizer(name: str, learning_rate: float) -> tf.keras.optimizers.legacy.Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f'unknown optimizer {name!r}; choose one of {OPTIMIZERS}')
    return getattr(tf.keras.optimizers.legacy, name)(learning_rate=learning_rate)


# AUC thresholds evenly spaced in log-odds (-15..15), not in probability. Keras's default,
# 200 even steps of probability, lumps every prediction within 0.005 of 0 or 1 into one
# bucket, and a well-separated table puts most predictions there: on the breast cancer
# table (53% of eval predictions below 0.001, 35% above 0.999) it read 0.978 for a model
# whose exact AUC was 0.9908; these thresholds read 0.9908.
AUC_LOGIT_RANGE = 15.0
AUC_THRESHOLD_COUNT = 999


def auc_thresholds() -> List[float]:
    """The thresholds, as probabilities: what ``LogOddsAUC`` counts predictions against."""
    step = 2 * AUC_LOGIT_RANGE / (AUC_THRESHOLD_COUNT - 1)
    return [1 / (1 + math.exp(AUC_LOGIT_RANGE - i * step)) for i in range(AUC_THRESHOLD_COUNT)]


def log_odds_position(probabilities: tf.Tensor) -> tf.Tensor:
    """Where each probability lies on a [0, 1] scale linear in log-odds, on which the
    ``auc_thresholds`` fall on Keras's evenly spaced ones (the i-th at (i + 1) / 1000)."""
    p = tf.cast(probabilities, tf.float64)
    log_odds = tf.math.log(p) - tf.math.log1p(-p)
    count = AUC_THRESHOLD_COUNT
    steps = (log_odds + AUC_LOGIT_RANGE) * ((count - 1) / (2 * AUC_LOGIT_RANGE))
    return tf.clip_by_value((steps + 1.0) / (count + 1), 0.0, 1.0)


class LogOddsAUC(tf.keras.metrics.AUC):
    """ROC AUC on the ``auc_thresholds``: close to the exact figure however sure the model is.

    Why not ``AUC(thresholds=auc_thresholds())``: Keras compares each prediction with every
    threshold it is given ([batch, 1001] comparisons per update), but buckets predictions
    when its thresholds are evenly spaced, tens of times faster. Here the
    predictions are moved onto the log-odds scale, where these thresholds are evenly spaced,
    and counted with Keras's evenly spaced ones: the same counts, 33x cheaper. It made most
    of the Evaluator's time at 100x the taxi data.
    """

    def __init__(self, name: str = 'auc', **kwargs: Any) -> None:
        # from_config (model_to_estimator clones metrics) hands the thresholds back: ours are fixed.
        kwargs.pop('thresholds', None)
        kwargs.pop('num_thresholds', None)
        super().__init__(num_thresholds=AUC_THRESHOLD_COUNT + 2, name=name, **kwargs)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        # Nothing returned: in graph mode (the Estimator's) Keras runs a metric of its users'
        # in a tf.function, which may return tensors only, not the update op.
        super().update_state(y_true, log_odds_position(y_pred), sample_weight)


def auc_metric(name: str = 'auc') -> tf.keras.metrics.AUC:
    """ROC AUC on log-odds thresholds (``LogOddsAUC``)."""
    return LogOddsAUC(name=name)


def loss_and_metrics(task: str) -> tuple:
    """Loss and metrics per task; metric names become the Evaluator's metric names."""
    if task == REGRESSION:
        return 'mse', [tf.keras.metrics.RootMeanSquaredError(name='rmse'),
                       tf.keras.metrics.MeanAbsoluteError(name='mae')]
    if task == BINARY_CLASSIFICATION:
        return 'binary_crossentropy', [auc_metric(),
                                       tf.keras.metrics.BinaryAccuracy(name='accuracy')]
    if task == MULTICLASS_CLASSIFICATION:
        return 'sparse_categorical_crossentropy', [
            tf.keras.metrics.SparseCategoricalAccuracy(name='accuracy')]
    raise ValueError(f'unknown task {task!r}')


def compile_model(model: tf.keras.Model, task: str, hparams: Dict[str, Any],
                  default_optimizer: Optional[str] = None) -> tf.keras.Model:
    """Compiles with a legacy optimizer, or checks the builder's own compile.

    A model the builder compiled itself is kept as it is, provided its optimizer is
    a ``tf.keras.optimizers.legacy`` one: newer optimizers lose their settings
    (learning rate included) in model_to_estimator without a word.
    """
    if model.optimizer is not None:
        if not isinstance(model.optimizer, tf.keras.optimizers.legacy.Optimizer):
            raise ValueError(
                f'the model is compiled with {type(model.optimizer).__name__}, which '
                'model_to_estimator would silently reset; compile with '
                'tf.keras.optimizers.legacy.* or leave the model uncompiled')
        return model
    optimizer = make_optimizer(hparams.get('optimizer', default_optimizer or 'Adam'),
                               float(hparams.get('learning_rate', 0.001)))
    loss, metrics = loss_and_metrics(task)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
