"""Convert after training: fit in Keras (or take a saved Keras model), then convert.

The Keras/Estimator blog post's second half: train with ``model.fit`` and Keras
callbacks, keep the best model on disk, and hand that file to
``model_to_estimator(keras_model_path=...)``. The Estimator then only evaluates and
exports: its first checkpoint holds exactly the Keras weights.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Sequence, Tuple

import tensorflow as tf
from absl import logging

from tfx_keras_estimator.components.trainer import estimator as est

BEST_MODEL_FILE = 'best_model.h5'


class TrainingDivergedError(RuntimeError):
    """The loss became NaN; nothing was exported, so nothing can be pushed."""


class StopOnNaN(tf.keras.callbacks.Callback):
    """Keras' TerminateOnNaN, remembering where: the epoch and the step the loss became NaN or infinite.

    Without it, ModelCheckpoint(save_best_only=True) never saves (NaN is never "better") and
    the run would fail later, copying a best model that does not exist.
    """

    def __init__(self, steps_per_epoch: int) -> None:
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0
        self.where: tuple | None = None

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = (logs or {}).get('loss')
        if loss is not None and not math.isfinite(float(loss)):
            self.where = (self.epoch + 1, self.epoch * self.steps_per_epoch + batch + 1)
            self.model.stop_training = True


def epoch_plan(train_steps: int, hparams: Dict[str, Any]) -> Tuple[int, int]:
    """``(epochs, steps_per_epoch)``: epochs of about the hparam ``steps_per_epoch`` (default 100)
    that add up to ``train_steps`` as nearly as whole epochs can (fewer than ``epochs`` steps more).
    Validation, the early-stopping check and the native trainer's backup run after each epoch."""
    epochs = max(1, math.ceil(train_steps / max(1, min(int(hparams.get('steps_per_epoch', 100)), train_steps))))
    return epochs, math.ceil(train_steps / epochs)


def fit_keras(model: tf.keras.Model, train_dataset: tf.data.Dataset, eval_dataset: tf.data.Dataset,
              train_steps: int, eval_steps: int, hparams: Dict[str, Any], best_model_path: str,
              extra_callbacks: Sequence[tf.keras.callbacks.Callback] = ()) -> Dict[str, Any]:
    """``model.fit`` for up to ``train_steps`` steps, stopping early; the best model is saved.

    Keras hyperparameters: ``steps_per_epoch`` (default 100: validation and the early
    stopping check run after each "epoch" of that many steps; the datasets repeat
    forever), ``early_stopping_patience`` (epochs without a better val_loss, default 3).
    Returns the best epoch's numbers.
    """
    epochs, steps_per_epoch = epoch_plan(train_steps, hparams)
    patience = int(hparams.get('early_stopping_patience', 3))
    early_stopping = tf.keras.callbacks.EarlyStopping(
        monitor='val_loss', patience=patience, restore_best_weights=True)
    diverged = StopOnNaN(steps_per_epoch)
    history = model.fit(
        train_dataset, validation_data=eval_dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
        validation_steps=eval_steps, verbose=2,
        callbacks=[diverged, early_stopping, *extra_callbacks,
                   tf.keras.callbacks.ModelCheckpoint(best_model_path, monitor='val_loss', save_best_only=True)])
    if diverged.where:
        epoch, step = diverged.where
        raise TrainingDivergedError(
            f'the training loss became NaN in epoch {epoch} of {epochs}, at step {step} of {train_steps} '
            f'(Keras fit, hyperparameters {hparams}); nothing was exported. Lower the learning rate or check '
            'the data for extreme values.')
    losses = history.history['val_loss']
    best = min(range(len(losses)), key=losses.__getitem__)
    summary = {'epochs_run': len(losses), 'epochs_max': epochs, 'steps_per_epoch': steps_per_epoch,
               'best_epoch': best + 1, 'stopped_early': len(losses) < epochs,
               **{k: float(v[best]) for k, v in history.history.items()},
               # Every epoch's numbers, for the run report's curves.
               'history': {k: [float(x) for x in v] for k, v in history.history.items()}}
    logging.info('Keras fit: %s; best model saved to %s', summary, best_model_path)
    return summary


def convert_keras_file(keras_model_path: str, run_config: tf.estimator.RunConfig, task: str,
                       prediction_key: str, class_labels: Sequence[str] = ()) -> tf.estimator.Estimator:
    """``model_to_estimator(keras_model_path=...)``, ready to evaluate and export as it is.

    model_to_estimator writes the Keras weights as a step-0 checkpoint under
    ``model_dir/keras`` and would only warm-start training from it. Making that
    checkpoint the model_dir's latest lets evaluate() and the exports read it
    directly, with no training step that would change the weights.
    """
    keras_estimator = tf.keras.estimator.model_to_estimator(
        keras_model_path=keras_model_path, config=run_config, checkpoint_format='saver')
    # The warm-start settings are the only handle on the checkpoint model_to_estimator wrote.
    warm_start = keras_estimator._warm_start_settings  # noqa: SLF001
    keras_checkpoint = warm_start.ckpt_to_initialize_from if warm_start else None
    if keras_checkpoint and tf.io.gfile.isdir(keras_checkpoint):
        keras_checkpoint = tf.train.latest_checkpoint(keras_checkpoint)
    if not keras_checkpoint or not tf.io.gfile.exists(keras_checkpoint + '.index'):
        raise RuntimeError(f'model_to_estimator wrote no checkpoint for {keras_model_path}')
    model_dir = keras_estimator.model_dir
    tf.compat.v1.train.update_checkpoint_state(model_dir, keras_checkpoint,
                                               all_model_checkpoint_paths=[keras_checkpoint])
    return est.with_task_signature(keras_estimator, task, prediction_key, class_labels)
