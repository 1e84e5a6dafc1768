"""The digits pipeline through the real ``tke run``: a 10-way CNN, pushed and served from raw pixels."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows, run_tke
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

N_EXAMPLES = 3


@pytest.fixture(scope='module')
def digits_pushed_model(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('digits-run')
    result = run_tke('run', '--recipe', 'digits', '--output', str(run_dir),
                     '--train-steps', '200', '--eval-steps', '3')
    if result.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'digits pipeline failed:\n{result.stdout}\n{result.stderr}\n--- log tail ---\n{log}')
    assert 'pushed model:' in result.stdout
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-digits')
    assert report is not None and report.pushed is True and report.pushed_model
    return report


def test_pushed_model_serves_raw_pixels_from_both_signatures(digits_pushed_model, digits_csv):
    recipe = get_recipe('digits')
    model = tf.saved_model.load(digits_pushed_model.pushed_model)
    assert {'serving_default', 'classification'} <= set(model.signatures)
    rows = csv_rows(digits_csv, N_EXAMPLES)
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))

    predict = model.signatures['serving_default'](examples=serialized)
    probabilities = predict[recipe.prediction_key].numpy()
    assert probabilities.shape == (N_EXAMPLES, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    classify = model.signatures['classification'](inputs=serialized)
    classes = classify['classes'].numpy()
    assert classes.shape == (N_EXAMPLES, 10)
    assert all(list(row) == [str(i).encode() for i in range(10)] for row in classes)
    np.testing.assert_allclose(classify['scores'].numpy(), probabilities, rtol=1e-5)


def test_pushed_model_answers_a_batch_with_a_tenth_of_its_pixels_left_out(digits_pushed_model, digits_csv):
    recipe = get_recipe('digits')
    model = tf.saved_model.load(digits_pushed_model.pushed_model)
    rows = with_blanks(csv_rows(digits_csv, 20), keep=[recipe.label_key])
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))
    probabilities = model.signatures['serving_default'](examples=serialized)[recipe.prediction_key].numpy()
    assert probabilities.shape == (20, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
