"""The Trainer's progress reporters: a SessionRunHook (Estimator modes) and a Keras callback."""

from __future__ import annotations

import tensorflow as tf

from components.trainer.progress import ProgressMeter


class ProgressHook(tf.compat.v1.train.SessionRunHook):
    """Estimator modes: reads the global step and the training loss when a report is due.

    The loss is the one the Estimator adds to ``GraphKeys.LOSSES`` (the EstimatorSpec's),
    so canned and converted Keras models report the same number TensorBoard shows.
    """

    def __init__(self, meter: ProgressMeter) -> None:
        self.meter = meter

    def begin(self) -> None:
        self._global_step = tf.compat.v1.train.get_global_step()
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOSSES)
        self._loss = losses[-1] if losses else None

    def before_run(self, run_context):
        if not self.meter.due():
            return None
        fetches = {'step': self._global_step}
        if self._loss is not None:
            fetches['loss'] = self._loss
        return tf.compat.v1.train.SessionRunArgs(fetches)

    def after_run(self, run_context, run_values) -> None:
        results = run_values.results
        if results:
            # The value read during a step is the count before the step's own increment.
            self.meter.update(int(results['step']) + 1, results.get('loss'))

    def end(self, session) -> None:
        step = int(session.run(self._global_step))
        last = self.meter.reported
        if last is None or last.step != step:
            # The loss of the last report: computing one now would read another batch.
            self.meter.update(step, last.loss if last else None, force=True)


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
