"""Two recipes run at once; a busy run directory is refused; no secret reaches a run
directory; the pushed models handle bad and unusual requests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows, run_tke
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

FAKE_SECRET = 'tke-test-secret-4f9c2a'


def _start(recipe, run_dir, env):
    tke = Path(sys.executable).with_name('tke')
    return subprocess.Popen([str(tke), 'run', '--recipe', recipe, '--output', str(run_dir),
                             '--train-steps', '60', '--eval-steps', '3'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope='module')
def concurrent(tmp_path_factory):
    root = tmp_path_factory.mktemp('concurrent')
    secret_file = root / 'credentials.json'
    secret_file.write_text(f'{{"private_key": "{FAKE_SECRET}"}}')
    env = {**os.environ, 'GOOGLE_APPLICATION_CREDENTIALS': str(secret_file), 'TKE_API_TOKEN': FAKE_SECRET}
    runs = {'taxi': root / 'taxi', 'housing': root / 'housing'}
    procs = {name: _start(name, path, env) for name, path in runs.items()}
    # While the taxi run holds its directory, a second run into it must be refused.
    deadline = time.monotonic() + 300
    while not (runs['taxi'] / 'pipeline').exists():
        assert procs['taxi'].poll() is None, procs['taxi'].communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    refused = run_tke('run', '--recipe', 'taxi', '--output', str(runs['taxi']), '--train-steps', '5')
    results = {name: (proc.wait(timeout=900), *proc.communicate()) for name, proc in procs.items()}
    return runs, results, refused


def test_two_recipes_at_once_both_succeed(concurrent):
    runs, results, _ = concurrent
    for name, (code, out, err) in results.items():
        assert code == 0, f'{name}:\n{out}\n{err}'
        report = latest_run(str(runs[name] / 'metadata.sqlite'), f'tke-{name}')
        assert report.pushed, out


def test_a_busy_run_directory_is_refused(concurrent):
    _, _, refused = concurrent
    assert refused.returncode == 1
    assert 'is in use by another run' in refused.stderr


def test_no_secret_is_written_into_run_directories(concurrent):
    runs, _, _ = concurrent
    for run_dir in runs.values():
        for path in run_dir.rglob('*'):
            if path.is_file():
                assert FAKE_SECRET.encode() not in path.read_bytes(), path


def _model(run_dir, recipe):
    return tf.saved_model.load(latest_run(str(run_dir / 'metadata.sqlite'), f'tke-{recipe}').pushed_model)


def test_taxi_serves_unseen_categories_and_missing_optional_features(concurrent, taxi_csv):
    runs, _, _ = concurrent
    recipe = get_recipe('taxi')
    model = _model(runs['taxi'], 'taxi')
    rows = csv_rows(taxi_csv, 4)
    rows[0]['payment_type'] = 'Bitcoin'       # never seen in training
    rows[1]['company'] = 'A Brand New Cab Co'  # never seen in training
    for key in ('pickup_latitude', 'dropoff_census_tract', 'trip_miles'):
        rows[2][key] = ''                      # optional features left out
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))
    probabilities = model.signatures['serving_default'](examples=serialized)['prediction'].numpy()
    assert probabilities.shape == (4, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    classified = model.signatures['classification'](inputs=serialized)
    assert classified['classes'].numpy()[0].tolist() == [b'0', b'1']
    np.testing.assert_allclose(classified['scores'].numpy().sum(axis=1), 1.0, rtol=1e-5)


def test_taxi_answers_a_batch_with_a_tenth_of_its_cells_left_out(concurrent, taxi_csv):
    recipe = get_recipe('taxi')
    rows = with_blanks(csv_rows(taxi_csv, 40), keep=[recipe.label_key])
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))
    probabilities = _model(concurrent[0]['taxi'], 'taxi').signatures['serving_default'](
        examples=serialized)['prediction'].numpy()
    assert probabilities.shape == (40, 1) and np.all((probabilities >= 0) & (probabilities <= 1))


def test_malformed_requests_get_clear_errors(concurrent, housing_csv):
    runs, _, _ = concurrent
    recipe = get_recipe('housing')
    model = _model(runs['housing'], 'housing')
    predict = model.signatures['serving_default']
    with pytest.raises(tf.errors.InvalidArgumentError, match='Could not parse example input'):
        predict(examples=tf.constant([b'this is not a serialized tf.Example']))
    row = csv_rows(housing_csv, 1)
    example = tf.train.Example.FromString(
        examples_from_rows(row, load_schema(recipe.schema_path), drop=[recipe.label_key])[0])
    example.features.feature['crim'].ClearField('float_list')
    example.features.feature['crim'].int64_list.value.append(1)  # an int where the contract says float
    with pytest.raises(tf.errors.InvalidArgumentError, match='crim'):
        predict(examples=tf.constant([example.SerializeToString()]))
    # A row without crim is no malformed request: it is answered (crim filled as in training).
    serialized = examples_from_rows(row, load_schema(recipe.schema_path), drop=[recipe.label_key, 'crim'])
    assert np.isfinite(predict(examples=tf.constant(serialized))[recipe.prediction_key].numpy()).all()


def test_the_fast_evaluator_agrees_with_tfx_on_a_binary_model_and_24_hour_slices(concurrent, tmp_path):
    """Taxi's gate is AUC, its slices the trip's hour: TFX's Evaluator and ours on the run's own inputs."""
    import tensorflow_model_analysis as tfma

    from tests.evaluator_checks import assert_same_as_tfx, evaluator_inputs, metrics_of

    runs, _, _ = concurrent
    inputs, eval_config = evaluator_inputs(runs['taxi'])
    evaluation, _ = assert_same_as_tfx(inputs, eval_config, tmp_path)
    metrics = metrics_of(evaluation.uri)
    assert len(metrics) >= 20, 'the overall slice and one per hour of the day'
    assert all(any('"auc"' in name for name in by_name) for by_name in metrics.values())
    assert tfma.load_validation_result(evaluation.uri).validation_ok
