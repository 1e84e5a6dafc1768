"""run_fn in a real training cluster: a chief, two workers and a parameter server as separate processes.

Each task is its own Python process on 127.0.0.1 with its own TF_CONFIG and its own FnArgs
(multiworker_task.py), as on Vertex AI Training where every replica runs the Trainer
executor. Checked: every task exits 0, every training task trains, the global step reaches
the target, the training tasks read different parts of the training data (together, in one
epoch's worth of steps, all of it), only the chief exports, and its serving model takes raw
tf.Examples.
"""

from __future__ import annotations

import json
import logging
import math
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import numpy as np
import pytest
import tensorflow as tf

from tests.components.trainer.multiworker_task import launch, task_fn_args, train_split_ids
from tests.conftest import csv_rows, free_ports
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import cluster, run_fn
from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR
from tfx_keras_estimator.pipelines.data import load_schema

TRAIN_STEPS = 600
# Small batches: 10 steps an epoch of the 160 training rows, so an epoch's worth of steps
# spreads over every training task (the recipe's 128 would make it 2).
BATCH_SIZE = 16
# (TF_CONFIG type, index); the training tasks (chief, then the workers) in task index order.
TASKS: Tuple[Tuple[str, int], ...] = (('ps', 0), ('chief', 0), ('worker', 0), ('worker', 1))
TRAINING = ('chief-0', 'worker-0', 'worker-1')
CLUSTER_TIMEOUT_SECS = 300  # a safety net only: the cluster takes 50-70 s on 2 shared cores
# The cluster run takes 50-70 s: e2e, like the pipeline runs (`make test` runs it).
CLUSTER = pytest.mark.e2e


@dataclass
class Task:
    name: str  # 'worker-1'
    tf_name: str  # 'worker/1', as run_fn logs it
    process: subprocess.Popen
    log: Path
    model_dir: Path
    reads: Path  # the rows its training input_fn yielded (multiworker_task.record_training_reads)

    def text(self) -> str:
        return self.log.read_text(errors='replace')

    def batches(self) -> List[List[str]]:
        """Row ids of each batch its training input_fn yielded, in order."""
        if not self.reads.exists():
            return []
        return [json.loads(line)['ids'] for line in self.reads.read_text().splitlines()]


def _start(task_type: str, index: int, cluster_spec: Dict[str, List[str]], spec: Dict, work: Path) -> Task:
    process, log, task_dir = launch(task_type, index, cluster_spec, spec, work)
    return Task(task_dir.name, f'{task_type}/{index}', process, log, task_dir / 'model', task_dir / 'reads.jsonl')


@dataclass
class ClusterRun:
    tasks: Dict[str, Task]
    cluster_spec: Dict[str, List[str]]
    spec: Dict[str, Any]  # what every task's FnArgs are built from (its own model_dir aside)
    model_run_dir: Path

    def __getitem__(self, name: str) -> Task:
        return self.tasks[name]


@pytest.fixture(scope='module')
def finished_cluster(housing_trainer_inputs, tmp_path_factory) -> ClusterRun:
    work = tmp_path_factory.mktemp('multiworker')
    ports = free_ports(len(TASKS))
    cluster_spec: Dict[str, List[str]] = {}
    for (task_type, _), port in zip(TASKS, ports, strict=True):
        cluster_spec.setdefault(task_type, []).append(f'127.0.0.1:{port}')
    spec = {
        **housing_trainer_inputs,
        'train_steps': TRAIN_STEPS,
        'model_run_dir': str(work / 'model_run'),  # one ModelRun URI for every replica, as on Vertex AI
        'executor_model_dir': str(work / 'chief-0' / 'model'),
        'recipe': 'housing',
        'trainer_settings': {'checkpoint_root': str(work / 'checkpoints'), 'eval_throttle_secs': 0,
                             'hparams': {'batch_size': BATCH_SIZE}},
    }
    tasks: Dict[str, Task] = {}
    try:
        for task_type, index in TASKS:  # the ps first; the others wait for it anyway
            task = _start(task_type, index, cluster_spec, spec, work)
            tasks[task.name] = task
        deadline = time.monotonic() + CLUSTER_TIMEOUT_SECS
        # Asynchronous training has no rendezvous: one task alone could run every step before
        # the others start. Hold each training task once it trains, until all of them train.
        held: List[Task] = []
        try:
            for name in TRAINING:
                _wait_for_line(tasks, name, _first_step(tasks[name]), deadline)
                tasks[name].process.send_signal(signal.SIGSTOP)
                held.append(tasks[name])
        finally:
            for task in held:
                task.process.send_signal(signal.SIGCONT)
        for task in tasks.values():
            try:
                task.process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f'task {task.name} still running after {CLUSTER_TIMEOUT_SECS} s\n{_logs(tasks)}')
    finally:
        for task in tasks.values():
            if task.process.poll() is None:
                task.process.kill()
                task.process.wait()
    return ClusterRun(tasks, cluster_spec, spec, work / 'model_run')


def _logs(tasks: Dict[str, Task]) -> str:
    return '\n'.join(f'--- {t.name} ---\n{t.text()[-3000:]}' for t in tasks.values())


def _wait_for_line(tasks: Dict[str, Task], name: str, pattern: str, deadline: float) -> None:
    task = tasks[name]
    while not re.search(pattern, task.text()):
        if task.process.poll() is not None:
            pytest.fail(f'{name} exited {task.process.returncode} before logging {pattern!r}\n{_logs(tasks)}')
        if time.monotonic() > deadline:
            pytest.fail(f'{name} did not log {pattern!r} within {CLUSTER_TIMEOUT_SECS} s\n{_logs(tasks)}')
        time.sleep(0.05)


def _first_step(task: Task) -> str:
    return rf'task {task.tf_name}: first training step'


def _steps_ran(task: Task) -> int:
    match = re.search(rf'task {task.tf_name} ran (\d+) training steps itself', task.text())
    assert match, f'{task.name} logged no step count:\n{task.text()[-3000:]}'
    return int(match.group(1))


@CLUSTER
def test_every_task_succeeds(finished_cluster):
    for task in finished_cluster.tasks.values():
        assert task.process.returncode == 0, f'{task.name} exited {task.process.returncode}:\n{task.text()[-5000:]}'
        assert 'the executor would succeed' in task.text()


@CLUSTER
def test_every_training_task_trains_to_the_target(finished_cluster):
    steps = {name: _steps_ran(finished_cluster[name]) for name in TRAINING}
    assert all(n > 0 for n in steps.values()), steps
    assert sum(steps.values()) >= TRAIN_STEPS
    model_run_dir = finished_cluster.model_run_dir
    checkpoint = tf.train.latest_checkpoint(str(model_run_dir / ESTIMATOR_SUBDIR))
    assert checkpoint and int(checkpoint.rsplit('-', 1)[1]) >= TRAIN_STEPS
    # Every task derived the same checkpoint folder from its own FnArgs.
    dirs = {name: re.findall(r'task \w+/\d of cluster .*: model_dir (\S+)', finished_cluster[name].text())
            for name in TRAINING}
    assert len({d[0] for d in dirs.values() if d}) == 1 and all(dirs.values()), dirs
    assert cluster.read_marker(str(model_run_dir)) == {'status': cluster.DONE, 'error': ''}


@CLUSTER
def test_training_tasks_read_different_parts_of_the_data(finished_cluster, housing_trainer_inputs):
    """Over one epoch's worth of steps in total, shared out as the tasks take them, the tasks read
    different rows, and together nearly all of the split (without sharding: the same 1/3)."""
    reads = {name: finished_cluster[name].batches() for name in TRAINING}
    first = next(line for line in finished_cluster['chief-0'].reads.read_text().splitlines())
    split = train_split_ids(housing_trainer_inputs, get_recipe('housing').task_spec.transformed_label_key,
                            json.loads(first)['columns'])
    assert len(split) > 150, f'{len(split)} distinct training rows'  # 160 rows, hardly any duplicates
    steps_per_epoch = math.ceil(len(split) / BATCH_SIZE)
    per_task, extra = divmod(steps_per_epoch, len(TRAINING))
    seen: Dict[str, Set[str]] = {}
    for index, name in enumerate(TRAINING):
        take = per_task + (index < extra)
        assert len(reads[name]) >= take, f'{name} read {len(reads[name])} batches, fewer than {take}'
        seen[name] = {row for batch in reads[name][:take] for row in batch}
        assert seen[name] <= split, f'{name} read rows that are not in the training split'
    sizes = {name: len(rows) for name, rows in seen.items()}
    union = set().union(*seen.values())
    coverage = len(union) / len(split)
    print(f'rows read by each task in one epoch\'s worth of steps: {sizes}; union {len(union)} of '
          f'{len(split)} ({coverage:.0%})')
    assert coverage >= 0.9, f'the tasks read {len(union)} of {len(split)} rows together: {sizes}'
    for a, b in ((a, b) for i, a in enumerate(TRAINING) for b in TRAINING[i + 1:]):
        assert seen[a] != seen[b], f'{a} and {b} read the same rows'


@CLUSTER
def test_only_the_chief_exports(finished_cluster):
    chief = finished_cluster['chief-0'].model_dir
    assert (chief / 'Format-Serving' / 'saved_model.pb').exists()
    assert (chief / 'Format-TFMA' / 'saved_model.pb').exists()
    for name in ('worker-0', 'worker-1', 'ps-0'):
        model_dir = finished_cluster[name].model_dir
        assert not model_dir.exists(), f'{name} wrote {list(model_dir.rglob("*"))}'


@CLUSTER
def test_chief_model_serves_raw_examples(finished_cluster, housing_csv):
    recipe = get_recipe('housing')
    model = tf.saved_model.load(str(finished_cluster['chief-0'].model_dir / 'Format-Serving'))
    serialized = examples_from_rows(csv_rows(housing_csv, 3), load_schema(recipe.schema_path), drop=[recipe.label_key])
    out = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy()
    assert out.shape == (3, 1) and np.all(np.isfinite(out))


@CLUSTER
def test_a_late_evaluator_ends_with_the_chief(finished_cluster, monkeypatch, tmp_path, caplog):
    """The chief has moved the checkpoints away: Estimator's own evaluator loop would wait forever."""
    monkeypatch.setenv('TF_CONFIG', json.dumps(
        {'cluster': finished_cluster.cluster_spec, 'task': {'type': 'evaluator', 'index': 0}}))
    fn_args = task_fn_args({**finished_cluster.spec, 'model_dir': str(tmp_path / 'model')})
    errors: List[Exception] = []
    caplog.set_level(logging.INFO, logger='absl')

    def evaluator() -> None:
        try:
            run_fn(fn_args)
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    thread = threading.Thread(target=evaluator, daemon=True)
    thread.start()
    thread.join(timeout=120)  # a safety net: it ends within seconds
    assert not thread.is_alive(), 'the evaluator did not end'
    assert not errors, errors
    assert not (tmp_path / 'model').exists(), 'an evaluator exports nothing'
    assert 'task evaluator/0: the chief is done' in caplog.text


def test_other_tasks_fail_when_the_chief_fails(tmp_path, monkeypatch):
    monkeypatch.setenv('TF_CONFIG', json.dumps({
        'cluster': {'chief': ['127.0.0.1:2222'], 'worker': ['127.0.0.1:2223']}, 'task': {'type': 'chief', 'index': 0}}))
    with pytest.raises(OSError, match='disk full'), \
            cluster.chief_reports_outcome(tf.estimator.RunConfig(), str(tmp_path)):
        raise OSError('disk full')
    with pytest.raises(cluster.ChiefFailedError, match=r'worker/0: the chief failed.*OSError: disk full'):
        cluster.wait_for_chief(str(tmp_path), 'worker/0', poll_secs=0.01, timeout_secs=10)


def test_no_marker_outside_a_cluster_and_waiting_can_time_out(tmp_path, monkeypatch):
    monkeypatch.delenv('TF_CONFIG', raising=False)
    with cluster.chief_reports_outcome(tf.estimator.RunConfig(), str(tmp_path)):
        pass
    assert cluster.read_marker(str(tmp_path)) is None
    with pytest.raises(TimeoutError, match='no word from the chief'):
        cluster.wait_for_chief(str(tmp_path), 'worker/0', poll_secs=0.01, timeout_secs=0.05)


TWO_WORKERS = {'chief': ['h:1'], 'worker': ['h:2', 'h:3'], 'ps': ['h:4']}


@pytest.mark.parametrize('cluster_spec, task, shard', [
    (TWO_WORKERS, ('chief', 0), (0, 3)),
    (TWO_WORKERS, ('worker', 0), (1, 3)),
    (TWO_WORKERS, ('worker', 1), (2, 3)),
    (TWO_WORKERS, ('ps', 0), None),  # serves variables, reads nothing
    (TWO_WORKERS, ('evaluator', 0), None),  # evaluates the whole eval split
    ({'chief': ['h:1'], 'ps': ['h:4']}, ('chief', 0), None),  # the only training task reads everything
    (None, None, None),  # no cluster
])
def test_training_shard_numbers_the_training_tasks(monkeypatch, cluster_spec, task, shard):
    if cluster_spec is None:
        monkeypatch.delenv('TF_CONFIG', raising=False)
    else:
        monkeypatch.setenv('TF_CONFIG', json.dumps(
            {'cluster': cluster_spec, 'task': {'type': task[0], 'index': task[1]}}))
    assert cluster.training_shard(tf.estimator.RunConfig()) == shard
