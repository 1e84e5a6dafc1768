"""The housing pipeline with every Beam step on Beam's portable runner, as Flink, Spark and
Dataflow Runner v2 run Python pipelines (the FnAPI): a job service and a pool of SDK workers,
each its own process on loopback, and ``tke run --beam-arg=...`` naming them.

Checked: each Beam component (ExampleGen, StatisticsGen, Transform, Evaluator) handed its work
to that runner (TFX's executor, or ExampleGen's Beam job) and the job service ran four jobs
whose code ran in the pool's workers; the model is blessed, pushed and serves, with an RMSE
close to the fast local path's on the same data (the ``housing_run`` fixture).
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import E2E_EVAL_STEPS, E2E_TRAIN_STEPS, csv_rows, free_ports, run_tke
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.report import all_runs, latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

BEAM_COMPONENTS = {
    'FastCsvExampleGen': 'a Beam job with our rows-to-examples rules runs on the Beam runner PortableRunner',
    'FastStatisticsGen': "TFX's executor runs (the Beam runner PortableRunner reads the examples)",
    'FastTransform': "TFX's executor runs (the Beam runner PortableRunner reads the examples)",
    'FastEvaluator': "TFX's executor evaluates (the Beam runner PortableRunner)",
}


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'{process.args} exited with {process.returncode}:\n{log.read_text()[-3000:]}')
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f'nothing listens on port {port} after {timeout} s: {process.args}')


@pytest.fixture(scope='module')
def portable_services(tmp_path_factory) -> Iterator[Path]:
    """A Beam job service and an SDK worker pool, separate processes on loopback (as a Flink or
    Spark job server and its workers' SDK harnesses are); yields the folder of their logs."""
    logs = tmp_path_factory.mktemp('beam-services')
    job_port, pool_port = free_ports(2)
    # The pool starts each SDK worker as `python ...`: this environment's Python first on PATH.
    env = {**os.environ, 'PATH': os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')])}
    commands = {
        'job_service': [sys.executable, '-m', 'apache_beam.runners.portability.local_job_service_main',
                        f'--port={job_port}'],
        'worker_pool': [sys.executable, '-m', 'apache_beam.runners.worker.worker_pool_main',
                        f'--service_port={pool_port}'],
    }
    processes = {}
    try:
        for name, command in commands.items():
            with (logs / f'{name}.log').open('w') as out:
                processes[name] = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _wait_for_port(job_port, processes['job_service'], logs / 'job_service.log')
        _wait_for_port(pool_port, processes['worker_pool'], logs / 'worker_pool.log')
        (logs / 'args').write_text('\n'.join([
            '--runner=PortableRunner', f'--job_endpoint=localhost:{job_port}', '--environment_type=EXTERNAL',
            f'--environment_config=localhost:{pool_port}']))
        yield logs
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope='module')
def portable_run(portable_services, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('housing-portable')
    beam_args = [f'--beam-arg={arg}' for arg in (portable_services / 'args').read_text().splitlines()]
    done = run_tke('run', '--recipe', 'housing', '--output', str(run_dir), '--train-steps', str(E2E_TRAIN_STEPS),
                   '--eval-steps', str(E2E_EVAL_STEPS), *beam_args)
    if done.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'housing on the portable runner failed:\n{done.stdout}\n{done.stderr}\n--- log ---\n{log}')
    return run_dir, done


def test_every_beam_component_ran_on_the_portable_runner(portable_run, portable_services):
    run_dir, done = portable_run
    assert 'beam PortableRunner' in done.stdout
    log = (run_dir / 'tke.log').read_text()
    for component, line in BEAM_COMPONENTS.items():
        assert f'{component}: {line}' in log, component
    assert 'this process converts' not in log and 'with the fast reader' not in log
    # The job service ran one job per Beam component, and their code ran in the pool's workers.
    jobs = (portable_services / 'job_service.log').read_text().count('Running job')
    assert jobs == len(BEAM_COMPONENTS), jobs
    assert 'Starting worker' in (portable_services / 'worker_pool.log').read_text()


def test_blessed_pushed_and_close_to_the_fast_path(portable_run, housing_run):
    run_dir, done = portable_run
    assert 'BLESSED' in done.stdout and 'pushed model:' in done.stdout
    ours = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-housing')
    # The fixture's first run (other tests add runs of their own to its directory later).
    fast = all_runs(str(housing_run.run_dir / 'metadata.sqlite'), 'tke-housing')[0]
    assert ours.blessed is True and ours.pushed is True
    # The same rows in each split (ExampleGen's split is by hash); only the record order differs,
    # and with it the batches the model trained on.
    assert ours.metrics['example_count'] == fast.metrics['example_count']
    rmse, fast_rmse = ours.metrics['rmse'], fast.metrics['rmse']
    assert math.isfinite(rmse) and abs(rmse - fast_rmse) <= 0.2 * fast_rmse, (rmse, fast_rmse)


def test_pushed_model_serves(portable_run, housing_csv):
    run_dir, _ = portable_run
    recipe = get_recipe('housing')
    (pushed,) = list((run_dir / 'serving').iterdir())
    model = tf.saved_model.load(str(pushed))
    rows = csv_rows(housing_csv, 9)
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))
    values = model.signatures['serving_default'](examples=serialized)[recipe.prediction_key].numpy()
    assert values.shape == (9, 1) and np.all(np.isfinite(values)) and values.std() > 0.5
