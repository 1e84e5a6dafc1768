"""tke predict on the housing pipeline's pushed model: shipped rows in, predictions out."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows, run_tke
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.serving import newest_complete
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

N_ROWS = 60
HOUSING = get_recipe('housing')


@pytest.fixture(scope='module')
def shipped_rows(housing_csv):
    return csv_rows(housing_csv, N_ROWS)


@pytest.fixture(scope='module')
def rows_csv(shipped_rows, tmp_path_factory):
    """Shipped rows with their label (ignored by predict) and an id column the schema does not know."""
    path = tmp_path_factory.mktemp('predict-rows') / 'rows.csv'
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, ['id', *shipped_rows[0]])
        writer.writeheader()
        writer.writerows({'id': f'house-{i}', **row} for i, row in enumerate(shipped_rows))
    return path


@pytest.fixture(scope='module')
def predicted(housing_run, rows_csv):
    result = run_tke('predict', '--run', str(housing_run.run_dir), '--csv', str(rows_csv))
    assert result.returncode == 0, f'{result.stdout}\n{result.stderr}'
    return result


def test_the_pushed_model_describes_itself(housing_run):
    model_dir = newest_complete(housing_run.run_dir / 'serving')
    description = json.loads((model_dir / 'assets.extra' / 'tke_model.json').read_text())
    assert (description['task'], description['label_key'], description['input_key']) == (
        'regression', 'medv', 'examples')
    assert (model_dir / 'assets.extra' / 'schema.pbtxt').is_file()


def test_predicts_one_finite_value_per_row_close_to_the_labels(predicted, shipped_rows):
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    assert len(rows) == N_ROWS and all(list(row) == ['prediction'] for row in rows)
    values = np.array([float(row['prediction']) for row in rows])
    assert np.all(np.isfinite(values))
    labels = np.array([float(row['medv']) for row in shipped_rows])
    rmse = math.sqrt(float(np.mean((values - labels) ** 2)))
    assert rmse <= HOUSING.gate.bound, f'rmse {rmse:.2f} on {N_ROWS} shipped rows'


def test_predictions_are_the_served_models_in_row_order(predicted, housing_run, shipped_rows):
    model = tf.saved_model.load(str(newest_complete(housing_run.run_dir / 'serving')))
    serialized = examples_from_rows(shipped_rows, load_schema(HOUSING.schema_path), drop=['medv'])
    served = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy().reshape(-1)
    values = [float(row['prediction']) for row in csv.DictReader(io.StringIO(predicted.stdout))]
    np.testing.assert_allclose(values, served, rtol=1e-5)


INT_COLUMNS = ('chas', 'rad', 'tax')


def _json_row(row):
    return {k: (int(v) if k in INT_COLUMNS else float(v)) for k, v in row.items()}


def test_json_lines_in_and_out(predicted, housing_run, shipped_rows, tmp_path):
    path = tmp_path / 'rows.jsonl'
    path.write_text(''.join(json.dumps(_json_row(row)) + '\n' for row in shipped_rows[:5]))
    result = run_tke('predict', '--run', str(housing_run.run_dir), '--json', str(path), '--output-format', 'jsonl')
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    from_csv = [float(row['prediction']) for row in csv.DictReader(io.StringIO(predicted.stdout))][:5]
    assert [line['prediction'] for line in lines] == pytest.approx(from_csv, rel=1e-6)
    # A JSON float in an integer column is an error, as in the data check.
    path.write_text(json.dumps(_json_row(shipped_rows[0])) + '\n' + json.dumps({**_json_row(shipped_rows[1]),
                                                                                'rad': 2.0}) + '\n')
    bad = run_tke('predict', '--run', str(housing_run.run_dir), '--json', str(path))
    assert (bad.returncode, bad.stdout) == (2, '')
    assert f"{path}, line 2, column 'rad': '2.0' is not an integer" in bad.stderr


def test_a_bad_row_exits_2_naming_row_and_column_and_prints_nothing(housing_run, rows_csv, tmp_path):
    lines = rows_csv.read_text().splitlines()
    header = lines[0].split(',')
    cells = lines[4].split(',')
    cells[header.index('rm')] = 'six'
    lines[4] = ','.join(cells)
    bad = tmp_path / 'bad.csv'
    bad.write_text('\n'.join(lines) + '\n')
    result = run_tke('predict', '--run', str(housing_run.run_dir), '--csv', str(bad))
    assert result.returncode == 2
    assert result.stdout == ''
    assert f"{bad}, row 5, column 'rm': 'six' is not a number" in result.stderr


def test_rows_with_missing_cells_are_answered_and_counted(predicted, housing_run, shipped_rows, tmp_path):
    """The served model's policy: blank cells, `NA` in a number column and a missing column are
    filled as training did; one answer per row, the same as the served model's, and a count."""
    rows = with_blanks(shipped_rows[:20], keep=['medv'], seed=3)
    rows[2]['crim'] = 'NA'
    columns = [c for c in rows[0] if c != 'dis']  # a column the model does not require, absent
    path = tmp_path / 'gaps.csv'
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, columns, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    result = run_tke('predict', '--run', str(housing_run.run_dir), '--csv', str(path))
    assert result.returncode == 0, result.stderr
    assert 'tke predict: 20 of 20 row(s) have missing cells; the model fills them as in training' in result.stderr
    values = [float(row['prediction']) for row in csv.DictReader(io.StringIO(result.stdout))]
    model = tf.saved_model.load(str(newest_complete(housing_run.run_dir / 'serving')))
    served_rows = [{k: v for k, v in r.items() if k != 'dis'} for r in rows]
    serialized = examples_from_rows(served_rows, load_schema(HOUSING.schema_path), drop=['medv'],
                                    missing_tokens=['NA'])
    served = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy().reshape(-1)
    assert len(values) == 20 and np.all(np.isfinite(values))
    np.testing.assert_allclose(values, served, rtol=1e-5)
