"""run_fn in a real training cluster: chief, worker and parameter server as separate processes.

Each task is its own Python process on 127.0.0.1 with its own TF_CONFIG and its own FnArgs
(multiworker_task.py), as on Vertex AI Training where every replica runs the Trainer
executor. Checked: every task exits 0, chief and worker both train, the global step reaches
the target, only the chief exports, and its serving model takes raw tf.Examples.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
import tensorflow as tf

from components.recipes import get_recipe
from components.trainer import cluster, run_fn
from components.trainer.adapter import ESTIMATOR_SUBDIR
from pipelines.data import load_schema
from tests.components.trainer.multiworker_task import task_fn_args
from tests.conftest import REPO_ROOT, csv_rows
from tests.serving import examples_from_rows

TRAIN_STEPS = 600
FIRST_STEP = r'task \w+/0: first training step'
TASKS = ('ps', 'chief', 'worker')
CLUSTER_TIMEOUT_SECS = 300  # a safety net only: the cluster takes 60-80 s on 2 shared cores
# The cluster run takes 60-80 s: e2e, like the pipeline runs (`make test` runs it).
CLUSTER = pytest.mark.e2e


def _free_ports(count: int) -> List[int]:
    """Ports the OS handed out and that are free again (held together, so all distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Task:
    name: str
    process: subprocess.Popen
    log: Path
    model_dir: Path

    def text(self) -> str:
        return self.log.read_text(errors='replace')


def _start(name: str, cluster_spec: Dict[str, List[str]], spec: Dict, work: Path) -> Task:
    task_dir = work / name
    task_dir.mkdir()
    spec = {**spec, 'model_dir': str(task_dir / 'model')}
    (task_dir / 'spec.json').write_text(json.dumps(spec))
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'CUDA_VISIBLE_DEVICES': '',
           'TF_CONFIG': json.dumps({'cluster': cluster_spec, 'task': {'type': name, 'index': 0}})}
    log = task_dir / 'log.txt'
    with log.open('wb') as out:
        process = subprocess.Popen(
            [sys.executable, '-m', 'tests.components.trainer.multiworker_task', str(task_dir / 'spec.json')],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Task(name, process, log, task_dir / 'model')


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
    ports = dict(zip(TASKS, _free_ports(len(TASKS)), strict=True))
    cluster_spec = {name: [f'127.0.0.1:{ports[name]}'] for name in TASKS}
    spec = {
        **housing_trainer_inputs,
        'train_steps': TRAIN_STEPS,
        'model_run_dir': str(work / 'model_run'),  # one ModelRun URI for every replica, as on Vertex AI
        'executor_model_dir': str(work / 'chief' / 'model'),
        'recipe': 'housing',
        'trainer_settings': {'checkpoint_root': str(work / 'checkpoints'), 'eval_throttle_secs': 0},
    }
    tasks: Dict[str, Task] = {}
    try:
        for name in TASKS:  # the ps first; the others wait for it anyway
            tasks[name] = _start(name, cluster_spec, spec, work)
        deadline = time.monotonic() + CLUSTER_TIMEOUT_SECS
        # Asynchronous training has no rendezvous: a chief alone could run every step before
        # the worker starts. Hold the chief once it trains, until the worker trains too.
        _wait_for_line(tasks, 'chief', FIRST_STEP, deadline)
        tasks['chief'].process.send_signal(signal.SIGSTOP)
        try:
            _wait_for_line(tasks, 'worker', FIRST_STEP, deadline)
        finally:
            tasks['chief'].process.send_signal(signal.SIGCONT)
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


def _steps_ran(task: Task) -> int:
    match = re.search(rf'task {task.name}/0 ran (\d+) training steps itself', task.text())
    assert match, f'{task.name} logged no step count:\n{task.text()[-3000:]}'
    return int(match.group(1))


@CLUSTER
def test_every_task_succeeds(finished_cluster):
    for task in finished_cluster.tasks.values():
        assert task.process.returncode == 0, f'{task.name} exited {task.process.returncode}:\n{task.text()[-5000:]}'
        assert 'the executor would succeed' in task.text()


@CLUSTER
def test_chief_and_worker_both_train_to_the_target(finished_cluster):
    chief, worker = _steps_ran(finished_cluster['chief']), _steps_ran(finished_cluster['worker'])
    assert chief > 0 and worker > 0, f'chief ran {chief} steps, worker {worker}'
    assert chief + worker >= TRAIN_STEPS
    model_run_dir = finished_cluster.model_run_dir
    checkpoint = tf.train.latest_checkpoint(str(model_run_dir / ESTIMATOR_SUBDIR))
    assert checkpoint and int(checkpoint.rsplit('-', 1)[1]) >= TRAIN_STEPS
    # Every task derived the same checkpoint folder from its own FnArgs.
    dirs = {name: re.findall(r'task \w+/0 of cluster .*: model_dir (\S+)', finished_cluster[name].text())
            for name in ('chief', 'worker')}
    assert len({d[0] for d in dirs.values() if d}) == 1 and all(dirs.values()), dirs
    assert cluster.read_marker(str(model_run_dir)) == {'status': cluster.DONE, 'error': ''}


@CLUSTER
def test_only_the_chief_exports(finished_cluster):
    chief = finished_cluster['chief'].model_dir
    assert (chief / 'Format-Serving' / 'saved_model.pb').exists()
    assert (chief / 'Format-TFMA' / 'saved_model.pb').exists()
    for name in ('worker', 'ps'):
        model_dir = finished_cluster[name].model_dir
        assert not model_dir.exists(), f'{name} wrote {list(model_dir.rglob("*"))}'


@CLUSTER
def test_chief_model_serves_raw_examples(finished_cluster, housing_csv):
    recipe = get_recipe('housing')
    model = tf.saved_model.load(str(finished_cluster['chief'].model_dir / 'Format-Serving'))
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
