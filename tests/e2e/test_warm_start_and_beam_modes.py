"""Paths users take that the other runs do not: the DirectRunner's parallel modes (the default above
256 MB of data) and a warm start from the last model, end to end through ``tke run``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import first_loss, run_tke
from tfx_keras_estimator.pipelines.app.report import all_runs

pytestmark = pytest.mark.e2e



@pytest.fixture(scope='module')
def two_runs(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('modes')
    common = ['run', '--recipe', 'housing', '--output', str(run_dir), '--eval-steps', '3']
    cold = run_tke(*common, '--train-steps', '60', '--beam-mode', 'multi_threading')
    assert cold.returncode == 0, cold.stdout + cold.stderr[-3000:]
    warm = run_tke(*common, '--train-steps', '61', '--beam-mode', 'multi_processing', '--warm-start')
    assert warm.returncode == 0, warm.stdout + warm.stderr[-3000:]
    return run_dir, cold, warm


def test_the_parallel_direct_runner_modes_run_the_whole_pipeline(two_runs):
    run_dir, cold, warm = two_runs
    assert 'beam DirectRunner (multi_threading, a worker per core)' in cold.stdout
    assert 'beam DirectRunner (multi_processing, a worker per core)' in warm.stdout
    first, second = all_runs(str(run_dir / 'metadata.sqlite'), 'tke-housing')[:2]
    for run in (first, second):
        assert run.state_of('Evaluator') == 'complete' and run.metrics['example_count'] > 0


def test_a_warm_start_trains_on_from_the_last_model(two_runs):
    run_dir, cold, warm = two_runs
    log = (run_dir / 'tke.log').read_text()
    assert re.search(r'warm start: [1-9]\d* variables from \S+/Trainer/model/\d+/', log)
    # The warm model starts where the last one ended, not from scratch: its first loss is far lower.
    assert first_loss(warm.stdout, 61) < 0.5 * first_loss(cold.stdout, 60), (cold.stdout, warm.stdout)


def _checkpoints(model_run: Path) -> dict:
    """``{step: reader}`` of a Trainer's checkpoints (step 0 is written before the first step)."""
    state = tf.train.get_checkpoint_state(str(model_run))
    return {int(path.rsplit('-', 1)[1]): tf.train.load_checkpoint(path) for path in state.all_model_checkpoint_paths}


def test_the_warm_model_starts_from_the_last_models_weights(two_runs):
    run_dir = two_runs[0]
    cold_dir, warm_dir = sorted((run_dir / 'pipeline' / 'Trainer' / 'model_run').iterdir(), key=lambda p: int(p.name))
    cold, warm = _checkpoints(cold_dir / 'estimator'), _checkpoints(warm_dir / 'estimator')
    assert 0 in cold and 0 in warm, (sorted(cold), sorted(warm))
    kernels = [name for name in cold[0].get_variable_to_shape_map()
               if name.endswith('kernel') and '/' in name and 'optimizer' not in name.lower()]
    assert kernels
    for name in kernels:
        trained = cold[max(cold)].get_tensor(name)
        # The cold run's weights moved from their random start; the warm run's first weights are its last ones.
        assert not np.allclose(cold[0].get_tensor(name), trained), name
        np.testing.assert_array_equal(warm[0].get_tensor(name), trained, err_msg=name)
