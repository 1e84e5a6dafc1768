"""Any CSV to a served model in two commands: ``tke init`` then ``tke run --recipe DIR``, as a user runs them.

The table (800 taxi trips) mixes ints, floats, strings, empty cells and missing tokens ('NA', 'N/A') in
numeric columns; the label is a string with five classes. Run with the canned baseline
beside it; the pushed model answers raw CSV rows, missing cells and tokens included.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_tke
from tests.init_tables import mixed_taxi_csv
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes.generic.roles import MISSING_TOKENS
from tfx_keras_estimator.pipelines.app.predict import load_description
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e


@pytest.fixture(scope='module')
def init_run(tmp_path_factory):
    work = tmp_path_factory.mktemp('init-e2e')
    mixed_taxi_csv(work / 'trips.csv', rows=800)
    init = run_tke('init', '--data', 'trips.csv', '--label', 'payment_type', '--output', 'trips_recipe', cwd=work)
    assert init.returncode == 0, init.stdout + init.stderr[-3000:]
    run = run_tke('run', '--recipe', 'trips_recipe', '--train-steps', '150', '--canned-baseline', cwd=work)
    log = (work / 'runs' / 'trips' / 'tke.log')
    assert run.returncode == 0, run.stdout + run.stderr[-3000:] + (log.read_text()[-4000:] if log.exists() else '')
    return work, init, run


def test_init_prints_its_decisions_and_the_next_command(init_run):
    _, init, _ = init_run
    out = init.stdout
    assert 'trip_miles               float   numeric' in out and "missing tokens: 47 'NA'" in out
    assert 'pickup_census_tract      string  left out       100.0%' in out
    assert "task: multiclass_classification on 'payment_type'; classes ['Cash', 'Credit Card'" in out
    assert out.rstrip().endswith('next: tke run --recipe trips_recipe')


def test_the_generated_recipe_trains_beside_the_canned_baseline_is_blessed_and_pushed(init_run):
    _, _, run = init_run
    assert 'Recipe trips: trips: predict payment_type' in run.stdout
    assert 'vs the pre-made linear Estimator' in run.stdout
    assert 'BLESSED' in run.stdout and 'pushed model: ' in run.stdout


def test_the_tuner_chose_one_of_the_two_candidates_and_the_trainer_trained_it(init_run):
    work, _, run = init_run
    assert 'Tuner                            done' in run.stdout
    (best,) = (work / 'runs' / 'trips' / 'pipeline' / 'Tuner' / 'best_hyperparameters').glob(
        '*/best_hyperparameters.txt')
    chosen = json.loads(best.read_text())['values']['candidate']
    assert f'Trainer: candidate {chosen} of 2 chosen by the Tuner' in (work / 'runs' / 'trips' / 'tke.log').read_text()
    assert f'  model: candidate {chosen} of 2 (the Tuner\'s choice, accuracy ' in run.stdout


def test_the_fast_evaluator_agrees_with_tfx_on_the_five_class_model(init_run, tmp_path):
    from tests.evaluator_checks import assert_same_as_tfx, evaluator_inputs, metrics_of

    work, _, _ = init_run
    inputs, eval_config = evaluator_inputs(work / 'runs' / 'trips')
    evaluation, blessing = assert_same_as_tfx(inputs, eval_config, tmp_path)
    [overall] = metrics_of(evaluation.uri).values()
    assert any('"accuracy"' in name for name in overall)
    assert (tmp_path / 'ours' / 'blessing' / 'BLESSED').exists() and blessing.uri == str(tmp_path / 'ours' / 'blessing')


def test_the_pushed_model_answers_raw_csv_rows(init_run):
    work, _, _ = init_run
    (pushed,) = list((work / 'runs' / 'trips' / 'serving').iterdir())
    schema = load_schema(work / 'trips_recipe' / 'schema.pbtxt')
    with (work / 'trips.csv').open(newline='') as f:
        rows = list(csv.DictReader(f))[:300]
    assert any(r['trip_miles'] == 'NA' for r in rows) and any(r['company'] == '' for r in rows)
    model = tf.saved_model.load(str(pushed))
    out = model.signatures['classification'](
        inputs=tf.constant(examples_from_rows(rows, schema, drop=['payment_type'], missing_tokens=MISSING_TOKENS)))
    classes = out['classes'].numpy().astype(str)
    predicted = classes[np.arange(len(rows)), np.argmax(out['scores'].numpy(), axis=1)]
    accuracy = float(np.mean(predicted == np.array([r['payment_type'] for r in rows])))
    majority = max(np.mean(np.array([r['payment_type'] for r in rows]) == c) for c in set(classes[0]))
    assert accuracy > majority, (accuracy, majority)


def test_the_contract_is_typed_numbers_whatever_the_csv_spelled_missing(init_run):
    """trip_miles and fare hold 'NA' / 'N/A' in the CSV: the model still takes them as floats, as
    assets.extra says; float-typed client rows with a tenth of their cells left out, a row with
    no feature at all and one with an unseen category are answered in one call."""
    work, _, _ = init_run
    (pushed,) = list((work / 'runs' / 'trips' / 'serving').iterdir())
    contract = load_description(pushed)
    spec = json.loads((pushed / 'assets.extra' / 'tke_model.json').read_text())['features']
    assert spec['trip_miles'] == {'type': 'float_list', 'required': False}
    assert spec['fare']['type'] == 'float_list' and spec['company']['type'] == 'bytes_list'
    assert 'payment_type' not in spec and not any(f['required'] for f in spec.values())
    with (work / 'trips.csv').open(newline='') as f:
        rows = list(csv.DictReader(f))[:100]
    rows = with_blanks(rows, keep=['payment_type'])
    rows[7]['company'] = 'A Cab Company Nobody Has Seen'
    serialized = examples_from_rows(rows, contract.schema, drop=['payment_type'], missing_tokens=MISSING_TOKENS)
    example = tf.train.Example.FromString(serialized[0])
    assert example.features.feature['fare'].WhichOneof('kind') == 'float_list'
    serialized.append(tf.train.Example().SerializeToString())  # lacks every feature
    model = tf.saved_model.load(str(pushed))
    scores = model.signatures['classification'](inputs=tf.constant(serialized))['scores'].numpy()
    assert scores.shape == (101, len(contract.class_labels)) and np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
