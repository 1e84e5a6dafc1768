"""The Trainer's progress reporters: a SessionRunHook (Estimator modes) and a Keras callback."""

from __future__ import annotations

import tensorflow as tf

from tfx_keras_estimator.components.trainer.progress import ProgressMeter


class ProgressHook(tf.compat.v1.train.SessionRunHook):
    """Estimator modes: reads the global step and the training loss of every step (two scalars
    the step computes anyway); the meter decides when to report.

    The loss is the one the Estimator adds to ``GraphKeys.LOSSES`` (the EstimatorSpec's),
    so canned and converted Keras models report the same number TensorBoard shows.
    """

    def __init__(self, meter: ProgressMeter) -> None:
        self.meter = meter
        self._last: tuple[int, float | None] | None = None

    def begin(self) -> None:
        self._global_step = tf.compat.v1.train.get_global_step()
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOSSES)
        self._loss = losses[-1] if losses else None

    def before_run(self, run_context):
        fetches = {'step': self._global_step}
        if self._loss is not None:
            fetches['loss'] = self._loss
        return tf.compat.v1.train.SessionRunArgs(fetches)

    def after_run(self, run_context, run_values) -> None:
        results = run_values.results
        # The value read during a step is the count before the step's own increment.
        self._last = (int(results['step']) + 1, results.get('loss'))
        if self.meter.due():
            self.meter.update(*self._last)

    def end(self, session) -> None:
        reported = self.meter.reported
        if self._last is not None and (reported is None or reported.step != self._last[0]):
            self.meter.update(*self._last, force=True)


class ProgressCallback(tf.keras.callbacks.Callback):
    """Mode keras_fit: the same reports from Keras' batch logs."""

    def __init__(self, meter: ProgressMeter) -> None:
        super().__init__()
        self.meter = meter
        self._step = 0

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._step += 1
        if self.meter.due():
            self.meter.update(self._step, (logs or {}).get('loss'))

    def on_train_end(self, logs=None) -> None:
        if self.meter.reported is None or self.meter.reported.step != self._step:
            self.meter.update(self._step, (logs or {}).get('loss'), force=True)
