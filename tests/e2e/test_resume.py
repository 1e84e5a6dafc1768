"""A Trainer killed mid-training (SIGKILL) resumes from its last checkpoint on the next run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows, run_tke
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

TRAIN_STEPS = 3000  # checkpoints every 300 steps


def _checkpoint_steps(run_dir: Path) -> list:
    return [int(re.search(r'model\.ckpt-(\d+)\.index$', str(p)).group(1))
            for p in (run_dir / 'pipeline' / 'checkpoints').glob('*/model.ckpt-*.index')]


def test_killed_trainer_resumes_and_finishes(tmp_path, housing_csv):
    run_dir = tmp_path / 'run'
    args = ['run', '--recipe', 'housing', '--output', str(run_dir), '--train-steps', str(TRAIN_STEPS),
            '--eval-steps', '5']
    tke = Path(sys.executable).with_name('tke')
    proc = subprocess.Popen([str(tke), *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    try:
        while max(_checkpoint_steps(run_dir), default=0) < 600:
            assert proc.poll() is None, 'the run ended before it could be killed'
            assert time.monotonic() < deadline, 'no checkpoint within 10 minutes'
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = max(_checkpoint_steps(run_dir))
    assert saved < TRAIN_STEPS

    second = run_tke(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    resumed = re.findall(rf'Trainer resumes from checkpoint \S+ \(step (\d+) of {TRAIN_STEPS}\)',
                         (run_dir / 'tke.log').read_text())
    assert resumed and int(resumed[-1]) >= saved, resumed
    # What the second run trained, counted by its own progress (the global step of each report):
    # from past the checkpoint on, never from step 1 as a restart from zero would.
    trained = [int(step) for step in re.findall(rf'training: step (\d+)/{TRAIN_STEPS}', second.stdout)]
    assert trained and min(trained) > saved and max(trained) == TRAIN_STEPS, (saved, trained)

    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-housing')
    assert {c.node_id: c.state for c in report.components}['Transform'] == 'cached'
    model_run = run_dir / 'pipeline' / 'Trainer' / 'model_run'
    final = tf.train.latest_checkpoint(str(max(model_run.iterdir(), key=lambda p: int(p.name)) / 'estimator'))
    assert final.endswith(f'model.ckpt-{TRAIN_STEPS}')

    assert report.pushed, second.stdout
    recipe = get_recipe('housing')
    model = tf.saved_model.load(report.pushed_model)
    serialized = examples_from_rows(csv_rows(housing_csv, 4), load_schema(recipe.schema_path), drop=['medv'])
    values = model.signatures['serving_default'](examples=tf.constant(serialized))['prediction'].numpy()
    assert values.shape == (4, 1) and np.all(np.isfinite(values))
