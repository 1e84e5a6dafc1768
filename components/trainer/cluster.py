"""run_fn in a training cluster (TF_CONFIG): who trains, who serves, who exports, when each task ends.

On Vertex AI Training (and AI Platform Training) every replica of the job runs the
same Trainer executor, hence the same ``run_fn``, with the same input and output
artifact URIs; TF_CONFIG tells each one its role. ``tf.estimator.train_and_evaluate``
alone does not make that a working TFX component:

- a parameter server ``join()``s its server forever, so its replica never ends;
- a worker returns as soon as the global step reaches ``max_steps``, before the chief
  has exported, and TFX's executor then fails the replica because the Model artifact
  has no serving model yet (``run_fn failed to generate model``);
- an evaluator polls for a checkpoint at ``max_steps`` that may never appear where it
  looks (the chief moves the checkpoints into the ModelRun artifact after exporting).

So the chief writes a marker in the ModelRun directory (the same URI for every replica
of one execution, and new for each execution, so never stale) once it has exported, or
once it has failed; every other task ends when it sees it. A job then counts as
finished when its chief does, and every replica exits 0 (or all fail with the chief).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any, Dict, Iterator, Optional, Tuple

import tensorflow as tf
from absl import logging

DONE_MARKER = 'cluster-done.json'
DONE, FAILED = 'done', 'failed'
POLL_SECS = 2.0
STILL_WAITING_LOG_SECS = 600.0


class ChiefFailedError(RuntimeError):
    """The chief reported a failure: this task stops too, and says why."""


def marker_path(model_run_dir: str) -> str:
    """Where the chief reports how it ended: every replica of an execution shares model_run_dir."""
    return os.path.join(model_run_dir, DONE_MARKER)


def is_distributed(config: tf.estimator.RunConfig) -> bool:
    """True under a multi-task TF_CONFIG; an evaluator counts too (it runs beside a cluster)."""
    if config.task_type == 'evaluator':
        return True
    return bool(config.cluster_spec) and (config.num_worker_replicas + config.num_ps_replicas) > 1


def is_distributed_by_tf_config() -> bool:
    """Whether TF_CONFIG describes a cluster of more than one task (read without tf.estimator)."""
    cluster = json.loads(os.environ.get('TF_CONFIG') or '{}').get('cluster') or {}
    return sum(len(tasks) for tasks in cluster.values()) > 1


def task_name(config: tf.estimator.RunConfig) -> str:
    return f'{config.task_type}/{config.task_id}'


def training_shard(config: tf.estimator.RunConfig) -> Optional[Tuple[int, int]]:
    """``(index, count)`` of this task among the cluster's training tasks (chief first, then
    the workers in order); None outside a cluster, for a lone trainer, a ps or an evaluator.

    Every replica runs the same run_fn on the same files: without this, N training tasks
    would compute their gradients on the same batches (see input_fn.make_input_fn).
    """
    if not is_distributed(config) or config.task_type not in ('chief', 'worker'):
        return None
    count = config.num_worker_replicas  # the chief plus the workers
    if count < 2:
        return None
    chiefs = len(config.cluster_spec.as_dict().get('chief', []))
    index = config.task_id + (chiefs if config.task_type == 'worker' else 0)
    if not 0 <= index < count:
        raise ValueError(f'task {task_name(config)} is not one of the {count} training tasks of '
                         f'cluster {config.cluster_spec.as_dict()} (TF_CONFIG)')
    return index, count


def is_parameter_server(config: Optional[tf.estimator.RunConfig] = None) -> bool:
    """Whether this process is a parameter server (TF_CONFIG task type ``ps``)."""
    config = config or tf.estimator.RunConfig()
    return config.task_type == 'ps' and is_distributed(config)


def serve_parameters(model_run_dir: str, poll_secs: float = POLL_SECS) -> None:
    """A parameter server's whole job: serve variables until the chief is done, then return.

    Estimator's own ps path (``server.join()``) never returns; the gRPC server here stops
    with the process, once the executor has returned.
    """
    config = tf.estimator.RunConfig()
    server = tf.distribute.Server(
        config.cluster_spec, job_name=config.task_type, task_index=config.task_id,
        protocol=config.protocol or 'grpc', start=True)
    logging.info('task %s: parameter server started at %s; serving until the chief is done',
                 task_name(config), server.target)
    wait_for_chief(model_run_dir, task_name(config), poll_secs)


def write_marker(model_run_dir: str, status: str, error: str = '') -> None:
    """The chief's last word to the other tasks: ``done`` (exported) or ``failed``."""
    path = marker_path(model_run_dir)
    tf.io.gfile.makedirs(model_run_dir)
    tmp = f'{path}.tmp'
    with tf.io.gfile.GFile(tmp, 'w') as f:
        f.write(json.dumps({'status': status, 'error': error}))
    tf.io.gfile.rename(tmp, path, overwrite=True)


def read_marker(model_run_dir: str) -> Optional[Dict[str, Any]]:
    path = marker_path(model_run_dir)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.loads(f.read())


def wait_for_chief(model_run_dir: str, task: str, poll_secs: float = POLL_SECS,
                   timeout_secs: Optional[float] = None) -> None:
    """Blocks until the chief has written its marker; raises if it failed (or on timeout).

    No timeout by default: a chief that dies without a word takes the whole job down on
    Vertex AI / AI Platform, which then stops every replica.
    """
    start = last_log = time.monotonic()
    while (marker := read_marker(model_run_dir)) is None:
        now = time.monotonic()
        if timeout_secs is not None and now - start > timeout_secs:
            raise TimeoutError(f'task {task}: no word from the chief after {timeout_secs:.0f} s '
                               f'(expected {marker_path(model_run_dir)})')
        if now - last_log > STILL_WAITING_LOG_SECS:
            logging.info('task %s: still waiting for the chief (%.0f s)', task, now - start)
            last_log = now
        time.sleep(poll_secs)
    if marker.get('status') != DONE:
        raise ChiefFailedError(f'task {task}: the chief failed, so this task fails too: '
                               f'{marker.get("error") or marker}')
    logging.info('task %s: the chief is done; this task ends', task)


@contextlib.contextmanager
def chief_reports_outcome(config: tf.estimator.RunConfig, model_run_dir: str) -> Iterator[None]:
    """Around the chief's last work (the exports): tells the other tasks how it ended."""
    if not (is_distributed(config) and config.is_chief):
        yield
        return
    try:
        yield
    except Exception as e:
        write_marker(model_run_dir, FAILED, f'{type(e).__name__}: {e}')
        raise
    write_marker(model_run_dir, DONE)


class StepCounter(tf.compat.v1.train.SessionRunHook):
    """Counts the training steps this task runs itself (the global step counts everyone's)."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.steps = 0
        self.global_step: Optional[int] = None

    def begin(self) -> None:
        self._global_step = tf.compat.v1.train.get_global_step()

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values) -> None:
        if self.steps == 0:
            logging.info('task %s: first training step (global step %d)', self.task, int(run_values.results))
        self.steps += 1
        self.global_step = int(run_values.results) + 1


def train_and_evaluate(estimator: tf.estimator.Estimator, train_spec: tf.estimator.TrainSpec,
                       eval_spec: tf.estimator.EvalSpec, model_run_dir: str) -> Optional[Dict[str, Any]]:
    """``tf.estimator.train_and_evaluate`` that also ends well on every task of a cluster.

    Returns the final training-time evaluation locally; None in a cluster (the evaluator
    task, if any, logs its evaluations). Non-chief tasks return once the chief is done.
    """
    config = estimator.config
    if not is_distributed(config):
        result = tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
        # A one-task cluster ({'chief': [...]}) takes Estimator's distributed path: no result.
        return result[0] if result is not None else None
    task = task_name(config)
    logging.info('task %s of cluster %s: model_dir %s', task, config.cluster_spec.as_dict(), config.model_dir)
    if config.task_type == 'ps':
        # run_fn normally sends a parameter server to serve_parameters before building anything.
        serve_parameters(model_run_dir)
        return None
    if config.task_type == 'evaluator':
        _evaluate_until_done(estimator, eval_spec, train_spec.max_steps, model_run_dir, task)
        wait_for_chief(model_run_dir, task)
        return None
    counter = StepCounter(task)
    counted = tf.estimator.TrainSpec(train_spec.input_fn, max_steps=train_spec.max_steps,
                                     hooks=(*train_spec.hooks, counter),
                                     saving_listeners=train_spec.saving_listeners)
    try:
        tf.estimator.train_and_evaluate(estimator, counted, eval_spec)
    except Exception as e:
        if config.is_chief:
            write_marker(model_run_dir, FAILED, f'{type(e).__name__}: {e}')
        raise
    logging.info('task %s ran %d training steps itself (global step %s at its last step)',
                 task, counter.steps, counter.global_step)
    if not config.is_chief:
        wait_for_chief(model_run_dir, task)
    return None


def _evaluate_until_done(estimator: tf.estimator.Estimator, eval_spec: tf.estimator.EvalSpec,
                         max_steps: Optional[int], model_run_dir: str, task: str) -> None:
    """An evaluator: evaluates each new checkpoint until one reaches max_steps or the chief is done.

    Estimator's own evaluator loop waits for a checkpoint at max_steps in model_dir and
    never ends if it missed it (the chief moves checkpoints away after exporting).
    """
    checkpoints = tf.train.checkpoints_iterator(
        estimator.model_dir, min_interval_secs=eval_spec.throttle_secs, timeout=POLL_SECS,
        timeout_fn=lambda: read_marker(model_run_dir) is not None)
    for checkpoint in checkpoints:
        try:
            metrics = estimator.evaluate(eval_spec.input_fn, steps=eval_spec.steps, hooks=eval_spec.hooks,
                                         checkpoint_path=checkpoint, name=eval_spec.name)
        except (tf.errors.NotFoundError, ValueError) as e:
            # The chief keeps few checkpoints and moves them away at the end.
            logging.info('task %s: checkpoint %s is gone (%s); next one', task, checkpoint, e)
            continue
        logging.info('task %s: evaluation of %s: %s', task, checkpoint, metrics)
        step = metrics.get(tf.compat.v1.GraphKeys.GLOBAL_STEP)
        if max_steps and step is not None and step >= max_steps:
            return
