"""TFX's cache with real MLMD: an edited preprocessing_fn re-runs Transform and the Trainer, and
nothing upstream of them. (Unchanged code served from the cache end to end, and edited model
code re-running the Trainer alone: tests/e2e/test_housing_pipeline.py and test_housing_reruns.py.)"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO_ROOT, run_tke
from tfx_keras_estimator.pipelines.app.report import all_runs

pytestmark = pytest.mark.e2e

UPSTREAM = ('CsvExampleGen', 'StatisticsGen', 'ExampleValidator', 'AnomalyGate')


def test_an_edited_preprocessing_fn_re_runs_transform_and_trainer_only(tmp_path):
    # A package name of its own (a recipe folder imports as a package named after the folder).
    folder = tmp_path / 'cache_e2e_recipe'
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', folder)
    shutil.copytree(REPO_ROOT / 'examples' / 'data' / 'wine', tmp_path / 'data' / 'wine')
    args = ['run', '--recipe', str(folder), '--output', str(tmp_path / 'run'), '--train-steps', '30']
    result = run_tke(*args)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with (folder / 'preprocessing.py').open('a') as f:
        f.write('\n# an edit: the same code, another hash\n')
    result = run_tke(*args)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]

    first, edited = all_runs(str(tmp_path / 'run' / 'metadata.sqlite'), 'tke-wine')
    assert first.state_of('Transform') == first.state_of('Trainer') == 'complete'
    states = {c.node_id: c.state for c in edited.components}
    assert states['Transform'] == 'complete' and states['Trainer'] == 'complete', states
    assert all(states[node] == 'cached' for node in UPSTREAM), states
