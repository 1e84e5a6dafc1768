"""The anomaly gate stops drifted data before Transform and Trainer (real TFDV, TFX, MLMD)."""

from __future__ import annotations

import csv
import sys

import pytest
from google.protobuf import text_format
from tfx import v1 as tfx

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.local_runner import beam_args
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.app.report_html import write_report
from tfx_keras_estimator.pipelines.config import PipelineConfig
from tfx_keras_estimator.pipelines.pipeline import create_pipeline

pytestmark = pytest.mark.e2e


def _write(path, header, rows):
    with path.open('w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _run(recipe_name, data_dir, run_dir, monkeypatch, schema_path=None, anomaly_gate='error'):
    recipe = get_recipe(recipe_name)
    config = PipelineConfig(recipe=recipe_name, pipeline_root=str(run_dir / 'pipeline'), data_root=str(data_dir),
                            schema_path=str(schema_path or recipe.schema_path), serving_dir=str(run_dir / 'serving'),
                            train_steps=5, eval_steps=1, beam_pipeline_args=beam_args('in_memory', 0),
                            anomaly_gate=anomaly_gate)
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(run_dir / 'metadata.sqlite'))
    # Straight to the pipeline: `tke run` would refuse the missing column and the
    # text in a number column before any component, with its own errors.
    # In-process components parse absl flags from sys.argv: not pytest's (`-v` is absl's --verbosity).
    monkeypatch.setattr(sys, 'argv', [sys.argv[0]])
    with pytest.raises(RuntimeError) as error:
        tfx.orchestration.LocalDagRunner().run(create_pipeline(config, metadata))
    report = latest_run(str(run_dir / 'metadata.sqlite'), config.name)
    states = {c.node_id: c.state for c in report.components}
    assert states['AnomalyGate'] == 'failed'
    assert 'Transform' not in states and 'Trainer' not in states
    assert not (run_dir / 'serving').exists()
    return str(error.value)


def test_drifted_housing_data_stops_before_transform(housing_csv, tmp_path, monkeypatch):
    with housing_csv.open(newline='') as f:
        rows = list(csv.DictReader(f))[:150]
    header = [c for c in rows[0] if c != 'black']  # a schema column is missing
    for row in rows[:20]:
        row['chas'] = '3'  # out of the schema's domain (0 or 1)
    rows[5]['rm'] = 'six'  # text in a number column
    data = tmp_path / 'data'
    data.mkdir()
    _write(data / 'houses.csv', header, [[r[c] for c in header] for r in rows])

    message = _run('housing', data, tmp_path / 'run', monkeypatch)
    assert 'Transform and Trainer were not run' in message
    assert "column 'black'" in message
    assert "column 'chas'" in message
    assert "column 'rm'" in message
    # The run report of the stopped run says why, in TFDV's words, feature by feature.
    page = write_report(tmp_path / 'run').read_text()
    assert 'failed at AnomalyGate' in page and 'No training in this run' in page
    anomalies = page[page.index('Anomalies found by ExampleValidator'):page.index('Features of the')]
    for feature in ('black', 'chas', 'rm'):
        assert f'<b>{feature}</b>' in anomalies


def test_new_category_stops_taxi(taxi_csv, tmp_path, monkeypatch):
    with taxi_csv.open(newline='') as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        rows = [r for _, r in zip(range(300), reader, strict=False)]
    for row in rows[:30]:
        row['payment_type'] = 'Bitcoin'
    data = tmp_path / 'data'
    data.mkdir()
    _write(data / 'trips.csv', header, [[r[c] for c in header] for r in rows])

    message = _run('taxi', data, tmp_path / 'run', monkeypatch)
    assert "column 'payment_type'" in message and 'Bitcoin' in message


def test_a_whole_dataset_anomaly_stops_the_run_in_warning_mode(housing_csv, tmp_path, monkeypatch):
    """Too few rows for the schema's dataset constraint: an anomaly of no column, with the gate at
    its strictest setting."""
    from tfx_keras_estimator.pipelines.data import load_schema

    schema = load_schema(get_recipe('housing').schema_path)
    schema.dataset_constraints.min_examples_count = 1000
    schema_dir = tmp_path / 'schema'
    schema_dir.mkdir()
    (schema_dir / 'schema.pbtxt').write_text(text_format.MessageToString(schema))
    data = tmp_path / 'data'
    data.mkdir()
    lines = housing_csv.read_text().splitlines()[:151]  # 150 rows
    (data / 'houses.csv').write_text('\n'.join(lines) + '\n')

    message = _run('housing', data, tmp_path / 'run', monkeypatch, schema_path=schema_dir / 'schema.pbtxt',
                   anomaly_gate='warning')
    assert "split 'train', whole data set:" in message and 'fewer than expected' in message, message
    assert 'column' not in message.split('were not run:')[1], message  # the rows themselves are fine
    page = write_report(tmp_path / 'run').read_text()
    anomalies = page[page.index('Anomalies found by ExampleValidator'):page.index('Features of the')]
    assert '<b>(dataset)</b>' in anomalies and 'fewer than expected' in anomalies


def _with_an_extra_column(housing_csv, tmp_path):
    """199 housing rows with a column the schema lacks (house_id), in a data folder of their own."""
    data = tmp_path / 'data'
    data.mkdir()
    lines = housing_csv.read_text().splitlines()
    extra = [lines[0] + ',house_id'] + [f'{line},{i}' for i, line in enumerate(lines[1:200])]
    (data / 'houses.csv').write_text('\n'.join(extra) + '\n')
    return data


def test_an_extra_column_is_stopped_by_the_gate_naming_it(housing_csv, tmp_path):
    from tests.conftest import run_tke

    data = _with_an_extra_column(housing_csv, tmp_path)
    result = run_tke('run', '--data', str(data), '--output', str(tmp_path / 'run'), '--train-steps', '5')
    assert result.returncode == 1
    assert "column 'house_id'" in result.stderr and 'New column' in result.stderr, result.stderr
    assert 'Transform and Trainer were not run' in result.stderr


def test_with_the_gate_off_the_same_data_trains_and_the_anomaly_stays_on_record(housing_csv, tmp_path):
    from tests.conftest import run_tke

    data = _with_an_extra_column(housing_csv, tmp_path)
    result = run_tke('run', '--data', str(data), '--output', str(tmp_path / 'run'), '--train-steps', '5',
                     '--anomaly-gate', 'off')
    assert result.returncode == 0, result.stdout + result.stderr
    report = latest_run(str(tmp_path / 'run' / 'metadata.sqlite'), 'tke-housing')
    states = {c.node_id: c.state for c in report.components}
    assert 'AnomalyGate' not in states and states['Trainer'] == 'complete' and states['Evaluator'] == 'complete'
    # ExampleValidator still ran and found the new column: the report says so, nothing was stopped.
    page = write_report(tmp_path / 'run').read_text()
    anomalies = page[page.index('Anomalies found by ExampleValidator'):page.index('Features of the')]
    assert '<b>house_id</b>' in anomalies
