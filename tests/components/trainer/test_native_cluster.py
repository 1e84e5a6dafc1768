"""The native trainer in a real cluster (modern stack): a chief and a worker as separate processes
on 127.0.0.1, each with its own TF_CONFIG and FnArgs (multiworker_task.py), as Vertex AI
Training runs the Trainer executor once per replica. Checked: both succeed, they take the steps
together (MultiWorkerMirroredStrategy), they read different halves of each epoch's training
rows, only the chief exports and its model keeps the serving contract; a cluster with a
parameter server is refused naming the legacy stack."""

from __future__ import annotations

import json
import re
import time
from typing import Dict, List

import numpy as np
import pytest
import tensorflow as tf

from tests.components.trainer.multiworker_task import launch, train_split_ids
from tests.conftest import csv_rows, free_ports
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import cluster, native, stack
from tfx_keras_estimator.pipelines.data import load_schema

if stack.current() != stack.MODERN:
    pytest.skip('the native trainer in a cluster: the modern stack (make test-modern)', allow_module_level=True)

pytestmark = pytest.mark.both_stacks
TASKS = (('chief', 0), ('worker', 0))
TRAIN_STEPS = 40
# The global batch: each of the two replicas takes 8 rows a step; 160 training rows are 10 steps.
BATCH_SIZE = 16
TIMEOUT_SECS = 300  # a safety net: the cluster takes about a minute on 2 shared cores


@pytest.fixture(scope='module')
def finished(housing_trainer_inputs, tmp_path_factory) -> Dict[str, Dict]:
    work = tmp_path_factory.mktemp('native-cluster')
    ports = free_ports(len(TASKS))
    cluster_spec: Dict[str, List[str]] = {}
    for (task_type, _), port in zip(TASKS, ports, strict=True):
        cluster_spec.setdefault(task_type, []).append(f'127.0.0.1:{port}')
    spec = {**housing_trainer_inputs, 'train_steps': TRAIN_STEPS, 'model_run_dir': str(work / 'model_run'),
            'executor_model_dir': str(work / 'chief-0' / 'model'), 'recipe': 'housing',
            'trainer_settings': {'checkpoint_root': str(work / 'checkpoints'), 'hparams': {'batch_size': BATCH_SIZE}}}
    tasks: Dict[str, Dict] = {}
    for task_type, index in TASKS:
        process, log, task_dir = launch(task_type, index, cluster_spec, spec, work)
        tasks[task_dir.name] = {'process': process, 'log': log, 'dir': task_dir}
    deadline = time.monotonic() + TIMEOUT_SECS
    try:
        for task in tasks.values():
            task['process'].wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for task in tasks.values():
            if task['process'].poll() is None:
                task['process'].kill()
                task['process'].wait()
    for task in tasks.values():
        task['text'] = task['log'].read_text(errors='replace')
    return {'tasks': tasks, 'model_run_dir': work / 'model_run'}


def _logs(finished) -> str:
    return '\n'.join(f'--- {name} ---\n{t["text"][-4000:]}' for name, t in finished['tasks'].items())


def test_both_tasks_succeed_and_take_the_steps_together(finished):
    for name, task in finished['tasks'].items():
        assert task['process'].returncode == 0, f'{name} failed:\n{_logs(finished)}'
        assert 'the executor would succeed' in task['text'], name
        # Synchronous: each task ran every step of the cluster (4 epochs of 10), not a share of them.
        assert f'training: step {TRAIN_STEPS}/{TRAIN_STEPS}' in task['text'], f'{name}:\n{task["text"][-3000:]}'
    for name in ('chief/0', 'worker/0'):
        task = finished['tasks'][name.replace('/', '-')]
        assert re.search(rf'task {name} of cluster .*: synchronous training with MultiWorkerMirroredStrategy, '
                         r'2 replicas', task['text']), task['text'][-3000:]
    assert cluster.read_marker(str(finished['model_run_dir'])) == {'status': cluster.DONE, 'error': ''}
    assert 'task worker/0: the chief is done' in finished['tasks']['worker-0']['text']


def test_the_tasks_read_different_halves_of_each_epoch(finished, housing_trainer_inputs):
    reads = {}
    for name, task in finished['tasks'].items():
        lines = (task['dir'] / 'reads.jsonl').read_text().splitlines()
        reads[name] = [json.loads(line) for line in lines]
    columns = reads['chief-0'][0]['columns']
    split = train_split_ids(housing_trainer_inputs, get_recipe('housing').task_spec.transformed_label_key, columns)
    # The first epoch: 10 steps, 8 rows each replica a step (the global batch split in two).
    first_epoch = {name: [row for batch in batches[:10] for row in batch['ids']] for name, batches in reads.items()}
    assert all(len(batch['ids']) == BATCH_SIZE // 2 for batches in reads.values() for batch in batches[:10])
    chief, worker = (set(first_epoch[n]) for n in ('chief-0', 'worker-0'))
    assert chief <= split and worker <= split
    assert not chief & worker, f'the tasks read {len(chief & worker)} rows both'
    assert len(chief | worker) >= 0.9 * len(split), (len(chief), len(worker), len(split))


def test_only_the_chief_exports_a_model_with_the_serving_contract(finished, housing_csv):
    tasks = finished['tasks']
    assert not (tasks['worker-0']['dir'] / 'model').exists()
    served = tasks['chief-0']['dir'] / 'model' / 'Format-Serving'
    recipe = get_recipe('housing')
    model = tf.saved_model.load(str(served))
    assert set(model.signatures) >= {'serving_default', 'regression', native.TRANSFORM_SIGNATURE}
    rows = examples_from_rows(csv_rows(housing_csv, 3), load_schema(recipe.schema_path), drop=[recipe.label_key])
    out = model.signatures['regression'](inputs=tf.constant(rows))['outputs'].numpy()
    assert out.shape == (3, 1) and np.all(np.isfinite(out))


@pytest.mark.parametrize('cluster_spec, task', [
    ({'chief': ['h:1'], 'worker': ['h:2'], 'ps': ['h:3']}, 'chief'),
    ({'chief': ['h:1'], 'worker': ['h:2'], 'evaluator': ['h:3']}, 'evaluator'),
])
def test_a_parameter_server_or_evaluator_cluster_is_refused_naming_the_legacy_stack(monkeypatch, cluster_spec, task):
    monkeypatch.setenv('TF_CONFIG', json.dumps({'cluster': cluster_spec, 'task': {'type': task, 'index': 0}}))
    with pytest.raises(stack.StackError, match=re.escape("'housing': the TF_CONFIG cluster has")) as raised:
        native.cluster_strategy('housing')
    assert 'chief and workers (MultiWorkerMirroredStrategy) only' in str(raised.value)
    assert 'make venv (TFX 1.15' in str(raised.value)
