"""Cache correctness on re-runs: changed model code retrains, unchanged code is cached.

Runs after test_housing_pipeline.py in the same run directory (its Transform is reused).
"""

from __future__ import annotations

import pytest

from tests.conftest import E2E_EVAL_STEPS, run_tke
from tfx_keras_estimator.pipelines.app.report import latest_run

pytestmark = pytest.mark.e2e

BUILDER = '''
import tensorflow as tf
from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F


def build(tf_transform_output, hparams):
    inputs = {{transformed_name(k): tf.keras.Input(shape=(), name=transformed_name(k))
              for k in F.NUMERIC_FEATURE_KEYS}}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    x = tf.keras.layers.Dense({units}, activation='relu')(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))
'''


def _run(run_dir, module_dir):
    result = run_tke('run', '--recipe', 'housing', '--output', str(run_dir), '--train-steps', '50',
                     '--eval-steps', str(E2E_EVAL_STEPS), '--model-builder', 'user_models.dnn.build',
                     '--hparam', 'optimizer="Adam"', extra_pythonpath=str(module_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-housing')
    return {c.node_id: c.state for c in report.components}


def test_changed_builder_code_retrains_and_unchanged_code_is_cached(housing_run, tmp_path):
    package = tmp_path / 'user_models'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'dnn.py').write_text(BUILDER.format(units=8))

    first = _run(housing_run.run_dir, tmp_path)
    assert first['Transform'] == 'cached' and first['Trainer'] == 'complete', first

    again = _run(housing_run.run_dir, tmp_path)
    assert again['Trainer'] == 'cached' and again['Evaluator'] == 'cached', again

    # Same dotted path, same hyperparameters, different code: must not be served from the cache.
    (package / 'dnn.py').write_text(BUILDER.format(units=16))
    changed = _run(housing_run.run_dir, tmp_path)
    assert changed['Transform'] == 'cached', changed
    assert changed['Trainer'] == 'complete' and changed['Evaluator'] == 'complete', changed


def test_a_model_failing_the_gate_is_not_pushed(housing_run):
    serving = housing_run.run_dir / 'serving'
    before = sorted(p.name for p in serving.iterdir())
    # One step with learning rate 0: predictions near 0, RMSE far above the bound.
    result = run_tke('run', '--recipe', 'housing', '--output', str(housing_run.run_dir), '--train-steps', '1',
                     '--eval-steps', str(E2E_EVAL_STEPS), '--hparam', 'optimizer="SGD"',
                     '--hparam', 'learning_rate=0.0')
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'NOT BLESSED' in result.stdout
    assert 'pushed model: none' in result.stdout
    report = latest_run(str(housing_run.run_dir / 'metadata.sqlite'), 'tke-housing')
    assert report.blessed is False and report.pushed is False
    assert report.metrics['rmse'] > 8.0
    assert sorted(p.name for p in serving.iterdir()) == before
