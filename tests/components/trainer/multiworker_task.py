"""One task of a local training cluster: run_fn under this process's TF_CONFIG.

Run by test_multiworker.py as ``python -m tests.components.trainer.multiworker_task SPEC.json``
from the repository root, once per task (chief, worker, ps), as Vertex AI Training runs the
Trainer executor once per replica. The spec names the Transform output, the shared ModelRun
directory and this task's own Model directory.

On Vertex AI every replica gets the same Model artifact URI; here each task gets its own, so
the test can see who exported. The executor's check after run_fn (``run_fn failed to generate
model`` when the Model artifact has no serving model) is made against the chief's, which is
the one a replica on Vertex AI would look at.

With ``record_reads`` in the spec, the task writes what its training input_fn yields (after
any sharding) to that file, one JSON line per batch: row ids (``row_ids``) and the columns
they hash. The wrapper lives here, in the test's process only: run_fn itself has no hook.
"""

from __future__ import annotations

import hashlib
import json
import logging as pylogging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Set, Tuple

import numpy as np
import tensorflow as tf
from absl import logging
from tfx.components.trainer import fn_args_utils  # builds FnArgs as the Trainer executor does
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from tests.conftest import REPO_ROOT
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import adapter, run_fn


def task_fn_args(spec: Dict[str, Any]) -> fn_args_utils.FnArgs:
    """This task's own FnArgs, built from the artifacts as the Trainer executor builds them."""
    examples = standard_artifacts.Examples()
    examples.uri = spec['examples_uri']
    examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    graph = standard_artifacts.TransformGraph()
    graph.uri = spec['transform_graph_uri']
    fn_args = fn_args_utils.get_common_fn_args(
        {'examples': [examples], 'transform_graph': [graph]},
        {'train_args': json.dumps({'num_steps': spec['train_steps']}), 'eval_args': '{"num_steps": 2}'})
    fn_args.serving_model_dir = f'{spec["model_dir"]}/Format-Serving'
    fn_args.eval_model_dir = f'{spec["model_dir"]}/Format-TFMA'
    fn_args.model_run_dir = spec['model_run_dir']
    fn_args.custom_config = get_recipe(spec['recipe']).trainer_config(**spec['trainer_settings']).to_custom_config()
    fn_args.base_model = None
    return fn_args


def launch(task_type: str, index: int, cluster_spec: Dict[str, List[str]], spec: Dict[str, Any],
           work: Path) -> Tuple[subprocess.Popen, Path, Path]:
    """Starts this module for one task of the cluster in ``work/<type>-<index>``, with its own
    TF_CONFIG, model folder and reads file; returns the process, its log and its folder."""
    task_dir = work / f'{task_type}-{index}'
    task_dir.mkdir()
    own = {**spec, 'model_dir': str(task_dir / 'model'), 'record_reads': str(task_dir / 'reads.jsonl')}
    (task_dir / 'spec.json').write_text(json.dumps(own))
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'CUDA_VISIBLE_DEVICES': '',
           'TF_CONFIG': json.dumps({'cluster': cluster_spec, 'task': {'type': task_type, 'index': index}})}
    log = task_dir / 'log.txt'
    with log.open('wb') as out:
        process = subprocess.Popen([sys.executable, '-m', 'tests.components.trainer.multiworker_task',
                                    str(task_dir / 'spec.json')],
                                   cwd=REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    return process, log, task_dir


def train_split_ids(inputs: Dict[str, str], label: str, columns: List[str]) -> Set[str]:
    """The ids (``row_ids``) of every row of the training split, read directly; ``label``: the
    transformed label's name, which the reads file calls 'label'."""
    import tensorflow_transform as tft

    feature_spec = tft.TFTransformOutput(inputs['transform_graph_uri']).transformed_feature_spec()
    names = [label if c == 'label' else c for c in columns]
    files = tf.io.gfile.glob(f'{inputs["examples_uri"]}/Split-train/*')
    ids: Set[str] = set()
    for record in tf.data.TFRecordDataset(files, compression_type='GZIP').batch(1000):
        parsed = tf.io.parse_example(record, {n: feature_spec[n] for n in names})
        ids.update(row_ids([parsed[n].numpy() for n in names]))
    return ids


def row_ids(columns: Sequence[np.ndarray]) -> List[str]:
    """One id per row of a batch: a hash of the row's values in every column (features, label)."""
    rows = len(columns[0])
    return [hashlib.sha1(b''.join(np.asarray(c[i], np.float64).tobytes() for c in columns)).hexdigest()[:16]
            for i in range(rows)]


def record_training_reads(path: str) -> None:
    """Wraps run_fn's make_input_fn so that the training input_fn logs the rows it yields."""
    original: Callable = adapter.make_input_fn
    lock = threading.Lock()

    def write(names: Sequence[str], *columns: tf.Tensor) -> np.int64:
        line = json.dumps({'columns': list(names), 'ids': row_ids([c.numpy() for c in columns])})
        with lock, open(path, 'a') as f:
            f.write(line + '\n')
        return np.int64(0)

    def recorded(dataset: tf.data.Dataset) -> tf.data.Dataset:
        def record(features: Dict[str, tf.Tensor], label: tf.Tensor):
            names = sorted(features)
            done = tf.py_function(lambda *cols: write([*names, 'label'], *cols),
                                  [features[k] for k in names] + [label], Tout=tf.int64)
            with tf.control_dependencies([done]):
                return {k: tf.identity(v) for k, v in features.items()}, tf.identity(label)

        return dataset.map(record)

    def make_input_fn(*args: Any, **kwargs: Any) -> Callable[[], tf.data.Dataset]:
        input_fn = original(*args, **kwargs)
        if not kwargs.get('shuffle', True):  # evaluation input: not what training read
            return input_fn
        return lambda: recorded(input_fn())

    adapter.make_input_fn = make_input_fn


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    logging.set_verbosity(logging.INFO)
    pylogging.basicConfig(level=pylogging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s',
                          force=True)
    if spec.get('record_reads'):
        record_training_reads(spec['record_reads'])
    run_fn(task_fn_args(spec))
    # GenericExecutor.Do's own check, right after run_fn returns on this replica.
    if not fileio.exists(f'{spec["executor_model_dir"]}/Format-Serving'):
        raise RuntimeError('run_fn failed to generate model.')
    logging.info('task finished: the executor would succeed')


if __name__ == '__main__':
    main(sys.argv[1])
