"""The native Keras trainer: what ``run_fn`` runs where TensorFlow has no Estimator (TF >= 2.16).

The same recipe model, compiled as on the legacy stack, is fit with Keras over Transform's
output (the TFT layer applied as raw examples are read, or the materialized examples), as
TFX's own native-Keras examples train; the Estimator's production loop is kept with Keras'
means:

- checkpoints and resume after a kill: ``BackupAndRestore`` in the keyed checkpoint folder
  (``adapter.checkpoint_dir``), so a re-run of the same training continues from the last
  finished epoch ("epochs" of ``steps_per_epoch`` steps);
- the NaN stop: training stops at the first NaN loss and fails with the step, nothing exported;
- live progress: the same progress lines as the Estimator's hook;
- warm start: the variables of the last model (``base_model``) by name and shape;
- distributed training: under a TF_CONFIG cluster of a chief and workers, synchronous
  data-parallel training with ``MultiWorkerMirroredStrategy`` (``cluster_strategy``): every task
  reads its own part of the training data and all of them take each step together. The
  Estimator's parameter-server training has no Keras-fit equivalent here and is refused.

The export keeps the legacy serving contract (``export_native``): a serving SavedModel whose
``serving_default`` takes serialized raw ``tf.Example``s (``examples``) and answers the
prediction key, with the regression or classification signature of an Estimator export
beside it (same inputs, outputs, dtypes and method names), and the same ``assets.extra``
description. It has one signature more, ``transform_features`` (serialized examples in, every
transformed feature out, the label included), as TFX's own native-Keras examples export it:
TFX >= 1.16's Evaluator evaluates the serving model (TFMA 0.47 has no EvalSavedModel) and reads
the transformed label through it. No eval model is written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Dict, List, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow.core.protobuf import saved_model_pb2

from tfx_keras_estimator.components.trainer import export, stack
from tfx_keras_estimator.components.trainer.config import TrainerConfig
from tfx_keras_estimator.components.trainer.convert import StopOnNaN, TrainingDivergedError, epoch_plan
from tfx_keras_estimator.components.trainer.estimator import CLASSIFICATION_SIGNATURE, REGRESSION_SIGNATURE
from tfx_keras_estimator.components.trainer.progress import ProgressMeter
from tfx_keras_estimator.components.trainer.progress_hooks import ProgressCallback
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, REGRESSION, TaskSpec

# The eval model's signature that TFMA runs first (EvalConfig preprocessing_function_names).
TRANSFORM_SIGNATURE = 'transform_features'
_REGRESS_METHOD = 'tensorflow/serving/regress'
_CLASSIFY_METHOD = 'tensorflow/serving/classify'


class _ResumedProgress(ProgressCallback):
    """Progress counted from the step a resumed fit starts at, not from 0."""

    def __init__(self, meter: ProgressMeter, steps_per_epoch: int) -> None:
        super().__init__(meter)
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._step = max(self._step, epoch * self.steps_per_epoch)


# Task types a TF_CONFIG cluster may hold for synchronous training (the chief and the workers).
TRAINING_TASKS = ('chief', 'worker')


def cluster_strategy(name: str) -> tf.distribute.MultiWorkerMirroredStrategy:
    """The strategy for this task of the TF_CONFIG cluster: synchronous training on the chief and
    the workers. Must be made before TensorFlow runs its first op (collective ops are set up then).

    Parameter servers and an evaluator task (the Estimator's asynchronous training and side-car
    evaluation) are refused, naming the legacy stack and what to run instead.
    """
    config = json.loads(os.environ.get('TF_CONFIG') or '{}')
    others = sorted(set(config.get('cluster') or {}) - set(TRAINING_TASKS))
    task = (config.get('task') or {}).get('type')
    if others or task not in TRAINING_TASKS:
        raise stack.StackError(
            f'{name!r}: the TF_CONFIG cluster has {", ".join(others) or task} task(s); on the {stack.describe()} a '
            'cluster trains synchronously on its chief and workers (MultiWorkerMirroredStrategy) only. Leave out '
            'the parameter servers and the evaluator, or train with the Estimator on the legacy stack: '
            f'{stack.HOW_TO[stack.LEGACY]}.')
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    logging.info('task %s of cluster %s: synchronous training with MultiWorkerMirroredStrategy, %d replicas',
                 task_name(), config['cluster'], strategy.num_replicas_in_sync)
    return strategy


def task_name() -> str:
    """``worker/1``: this task in the TF_CONFIG cluster, as the logs name it."""
    task = json.loads(os.environ.get('TF_CONFIG') or '{}').get('task') or {}
    return f'{task.get("type")}/{task.get("index")}'


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this task writes what the execution outputs (always, outside a cluster)."""
    return strategy is None or strategy.extended.should_checkpoint


def warm_start(model: tf.keras.Model, base_model_dir: str) -> int:
    """Assigns the variables of the last exported model to ``model``'s by name and shape."""
    base = tf.saved_model.load(base_model_dir)
    if not hasattr(base, 'model'):
        raise ValueError(f'{base_model_dir} is no model of the native Keras trainer (no tracked model): '
                         'a warm start needs a model of this stack')
    saved = {v.name: v for v in base.model.variables}
    assigned = 0
    for variable in model.variables:
        source = saved.get(variable.name)
        if source is not None and source.shape == variable.shape:
            variable.assign(source)
            assigned += 1
    logging.info('warm start: %d variables from %s', assigned, base_model_dir)
    return assigned


def fit(model: tf.keras.Model, train: tf.data.Dataset, evaluation: tf.data.Dataset, config: TrainerConfig,
        train_steps: int, eval_steps: int, backup_dir: str, batch_size: int, log_dir: str) -> Dict[str, float]:
    """``model.fit`` for ``train_steps`` steps in epochs of ``steps_per_epoch``, resumable."""
    # The backup is taken after each epoch.
    epochs, steps_per_epoch = epoch_plan(train_steps, config.hparams)
    nan = StopOnNaN(steps_per_epoch)
    callbacks: List[tf.keras.callbacks.Callback] = [
        # Saved after every epoch, removed when training ends: a killed run resumes here.
        tf.keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=True),
        nan,
        _ResumedProgress(ProgressMeter(train_steps, batch_size), steps_per_epoch),
        tf.keras.callbacks.TensorBoard(log_dir),
    ]
    history = model.fit(train, steps_per_epoch=steps_per_epoch, epochs=epochs, validation_data=evaluation,
                        validation_steps=eval_steps, callbacks=callbacks, verbose=0)
    if nan.where is not None:
        epoch, step = nan.where
        raise TrainingDivergedError(
            f'the training loss became NaN at step {step} of {train_steps} (epoch {epoch}; {config.name!r}, '
            f'hyperparameters {config.hparams}); nothing was exported. Lower the learning rate or check the '
            'data for extreme values.')
    final = {key: float(values[-1]) for key, values in history.history.items() if values}
    logging.info('final training-time evaluation: %s', final)
    return final


class _Exported(tf.Module):
    """What the SavedModels track: the model (warm starts read it) and the TFT layer."""

    def __init__(self, model: tf.keras.Model, tf_transform_output: tft.TFTransformOutput) -> None:
        super().__init__()
        self.model = model
        self.tft_layer = tf_transform_output.transform_features_layer()


def _signatures(exported: _Exported, task: TaskSpec, tf_transform_output: tft.TFTransformOutput,
                input_names: Sequence[str]) -> Dict[str, tf.types.experimental.GenericFunction]:
    raw_spec = export.serving_feature_spec(tf_transform_output, task.label_key)
    names = list(input_names)

    def predict(serialized: tf.Tensor) -> tf.Tensor:
        transformed = exported.tft_layer(export.parse_requests(serialized, raw_spec))
        return exported.model({name: transformed[name] for name in names})

    requests = tf.TensorSpec([None], tf.string)

    @tf.function(input_signature=[requests])
    def serving_default(examples):
        return {task.prediction_key: predict(examples)}

    # The functions, not their concrete functions: those cannot be saved over a cluster's distributed variables.
    signatures = {tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: serving_default}
    if task.task == REGRESSION:
        @tf.function(input_signature=[requests])
        def regression(inputs):
            return {'outputs': predict(inputs)}

        signatures[REGRESSION_SIGNATURE] = regression
    else:
        labels = tf.constant(list(task.class_labels), tf.string)

        @tf.function(input_signature=[requests])
        def classification(inputs):
            scores = predict(inputs)
            if task.task == BINARY_CLASSIFICATION:
                scores = tf.concat([1.0 - scores, scores], axis=1)
            classes = tf.tile(tf.expand_dims(labels, 0), [tf.shape(scores)[0], 1])
            return {'classes': classes, 'scores': scores}

        signatures[CLASSIFICATION_SIGNATURE] = classification
    full_spec = tf_transform_output.raw_feature_spec()

    @tf.function(input_signature=[requests])
    def transform_features(examples):
        return exported.tft_layer(tf.io.parse_example(examples, full_spec))

    signatures[TRANSFORM_SIGNATURE] = transform_features
    return signatures


def _set_method_names(saved_model_dir: str) -> None:
    """The classify / regress method names an Estimator export has: ``tf.saved_model.save`` writes
    ``predict`` for every signature (tensorflow#38081), and TF Serving's Classify and Regress APIs
    accept only these; the signatures' inputs and outputs already have those APIs' names."""
    path = os.path.join(saved_model_dir, 'saved_model.pb')
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, 'rb') as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        for key, method in ((REGRESSION_SIGNATURE, _REGRESS_METHOD), (CLASSIFICATION_SIGNATURE, _CLASSIFY_METHOD)):
            if key in meta_graph.signature_def:
                meta_graph.signature_def[key].method_name = method
    with tf.io.gfile.GFile(path, 'wb') as f:
        f.write(proto.SerializeToString())


def export_native(model: tf.keras.Model, task: TaskSpec, tf_transform_output: tft.TFTransformOutput,
                  input_names: Sequence[str], serving_model_dir: str, scratch_dir: str,
                  chief: bool = True) -> None:
    """The serving SavedModel, written whole in ``scratch_dir``, then moved into place.

    In a cluster every task saves (the save may need the others' collective ops), and only the
    chief's model is kept: the other tasks' copies are removed.
    """
    exported = _Exported(model, tf_transform_output)
    local = tempfile.mkdtemp(dir=scratch_dir if chief else None)
    tf.saved_model.save(exported, local, signatures=_signatures(exported, task, tf_transform_output, input_names))
    if not chief:
        shutil.rmtree(local, ignore_errors=True)
        return
    _set_method_names(local)
    export.write_assets_extra(local, export.model_description(task, tf_transform_output))
    export.move_tree(local, serving_model_dir)
    logging.info('exported serving model to %s', serving_model_dir)
