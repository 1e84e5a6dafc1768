"""tke init: the inference rules on small tables, the curated schema, the recipe it writes, bad input."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Dict, List

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from components.recipes import load_recipe
from pipelines import init
from pipelines.data import load_schema
from tests.conftest import run_tke
from tests.init_tables import mixed_taxi_csv


def _write(path: Path, header: List[str], rows: List[List[object]]) -> Path:
    with path.open('w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _column(name: str, cells: List[str]) -> init.Column:
    column = init.Column(name)
    for i, cell in enumerate(cells):
        column.add(cell, (0, i + 2))
    init.decide_role(column)
    return column


def test_roles_of_columns():
    n = 200
    assert _column('id', [str(i) for i in range(n)]).reason.startswith('an identifier (200 distinct integers')
    assert _column('customer_key', [str(7 * i + 1000) for i in range(n)]).role == init.LEFT_OUT
    assert _column('code', [str(i % 5) for i in range(n)]).role == init.CATEGORICAL
    assert _column('count', [str(i % 60) for i in range(n)]).role == init.NUMERIC
    assert _column('same', ['x'] * n).reason == "constant ('x' in every filled cell)"
    empty = _column('notes', [''] * 195 + ['a'] * 5)
    assert empty.role == init.LEFT_OUT and empty.reason == 'almost always empty (98% missing)'
    assert _column('city', ['Rome', 'Oslo', 'Lima', ''] * 50).role == init.CATEGORICAL
    text = _column('review', [f'the food was good and the staff kind {i}' for i in range(n)])
    assert text.role == init.LEFT_OUT and text.reason.startswith('free text')
    assert _column('sku', [f'SKU{i:05d}' for i in range(n)]).reason.startswith('an identifier (200 distinct values')
    skewed = _column('income', [str(int(math.exp(i / 20))) for i in range(n)])
    assert skewed.role == init.NUMERIC and skewed.log
    assert not _column('height', [str(150 + (i * 7) % 50) for i in range(n)]).log
    # Missing tokens count as missing in a numeric column, and as values in a text one.
    miles = _column('miles', ['1.5', 'NA', '2.0', 'N/A', ''] * 40)
    assert miles.kind == 'float' and miles.role == init.NUMERIC
    assert dict(miles.tokens) == {'NA': 40, 'N/A': 40} and miles.missing_share == pytest.approx(0.6)
    country = _column('country', ['NA', 'FR', 'DE'] * 60)
    assert country.kind == 'string' and country.role == init.CATEGORICAL and not country.tokens
    assert country.distinct == 3


@pytest.mark.parametrize('cells, task, expected', [
    (['yes', 'no'] * 20, None, ('binary_classification', ('no', 'yes'))),
    (['2', '10', '1'] * 20, None, ('multiclass_classification', ('1', '2', '10'))),
    ([str(i * 0.5) for i in range(40)], None, ('regression', ())),
    ([str(i) for i in range(40)], None, ('regression', ())),  # many integers: a quantity
    (['1', '2', '3'] * 20, 'regression', ('regression', ())),
    (['0', '1'] * 20, None, ('binary_classification', ('0', '1'))),
])
def test_task_and_classes_from_the_label(cells, task, expected):
    column = init.Column('y')
    for i, cell in enumerate(cells):
        column.add(cell, (0, i + 2))
    assert init.label_task(column, [Path('t.csv')], task) == expected


@pytest.mark.parametrize('cells, task, message', [
    (['a'] * 40, None, "label 'y' has a single value \\('a'\\) in all 40 rows"),
    (['1', '', '0', 'NA'] * 10, None, r"label 'y' is empty in 20 row\(s\) \(t.csv row 3, t.csv row 7"),
    (['a', 'b', 'c'] * 20, 'binary_classification', 'needs a label with two values'),
    (['a', 'b'] * 20, 'regression', "needs a numeric label; 'y' holds 'a'"),
    (['a', 'b'] * 20, 'ranking', "--task 'ranking' is not one of"),
])
def test_bad_labels(cells, task, message):
    column = init.Column('y')
    for i, cell in enumerate(cells):
        column.add(cell, (0, i + 2))
    with pytest.raises(init.InitError, match=message):
        init.label_task(column, [Path('t.csv')], task)


def test_gate_and_steps():
    label = _column('y', [str(v) for v in (1.0, 2.0, 3.0, 4.0)] * 10)
    gate = init.gate_for('regression', label, ())
    assert (gate.metric, gate.higher_is_better) == ('rmse', False)
    assert gate.bound == pytest.approx(1.118, rel=1e-3)  # predicting the mean: RMSE = the label's spread
    majority = init.Column('c')
    for cell in ['a'] * 30 + ['b'] * 10:
        majority.add(cell, (0, 0))
    assert init.gate_for('multiclass_classification', majority, ('a', 'b')).bound == 0.75
    assert init.gate_for('binary_classification', majority, ('a', 'b')).bound == 0.5
    assert init.steps_for(178) == (200, 2, 32)
    train, _, batch = init.steps_for(15_000)
    assert (train, batch) == (math.ceil(10 * 10_000 / 128), 128)


@pytest.fixture(scope='module')
def mixed(tmp_path_factory) -> Dict[str, object]:
    work = tmp_path_factory.mktemp('init-mixed')
    csv_path = mixed_taxi_csv(work / 'trips.csv', rows=600)
    inference = init.infer(csv_path, 'payment_type')
    folder = init.write_recipe(inference, work / 'trips_recipe', 'trips')
    return {'inference': inference, 'folder': folder, 'csv': csv_path}


def test_mixed_table_roles_and_task(mixed):
    inference = mixed['inference']
    roles = inference.roles
    assert inference.task == 'multiclass_classification'
    assert set(inference.classes) >= {'Cash', 'Credit Card'} and list(inference.classes) == sorted(inference.classes)
    assert set(roles.numbers_as_text) == {'trip_miles', 'fare'}
    assert {'trip_miles', 'fare', 'trip_seconds', 'tips', 'pickup_latitude'} <= set(roles.numeric)
    assert {'company', 'trip_start_month', 'trip_start_day'} <= set(roles.categorical)
    assert 'pickup_latitude' in roles.optional and 'trip_start_hour' not in roles.optional
    assert roles.excluded == {'pickup_census_tract': 'almost always empty (100% missing)'}


def test_the_curated_schema(mixed):
    schema = {f.name: f for f in load_schema(mixed['folder'] / 'schema.pbtxt').feature}
    label = schema['payment_type']
    assert label.presence.min_fraction == 1.0 and list(label.string_domain.value) == list(mixed['inference'].classes)
    # Missing tokens: stored as text, as CsvExampleGen reads such a column.
    assert schema['trip_miles'].type == schema_pb2.BYTES and not schema['trip_miles'].HasField('string_domain')
    assert schema['pickup_latitude'].presence.min_fraction == 0.0 and not schema['pickup_latitude'].HasField('shape')
    seconds = schema['trip_seconds']
    assert seconds.type == schema_pb2.INT and seconds.int_domain.min == 0 and seconds.int_domain.max > 0
    company = schema['company']
    assert company.string_domain.value and company.distribution_constraints.min_domain_mass == 0.99
    assert schema['trip_start_day'].int_domain.is_categorical
    assert schema['trip_start_timestamp'].presence.min_fraction == 1.0 and schema['trip_start_timestamp'].HasField(
        'int_domain')


def test_the_written_recipe_loads_with_the_generic_code(mixed):
    recipe = load_recipe(str(mixed['folder']))
    assert recipe.name == 'trips' and recipe.task == 'multiclass_classification'
    assert recipe.preprocessing_fn == init.GENERIC_PREPROCESSING_FN
    assert recipe.model_builder == init.GENERIC_MODEL_BUILDER
    assert recipe.class_labels == mixed['inference'].classes
    assert set(recipe.transform_config['numbers_as_text']) == {'trip_miles', 'fare'}
    assert (mixed['folder'] / 'data' / 'trips.csv').read_bytes() == mixed['csv'].read_bytes()
    assert recipe.gate.metric == 'accuracy' and 0 < recipe.gate.bound < 1


@pytest.mark.parametrize('make, args, message', [
    (lambda d: None, ['--label', 'y'], 'no such file or folder'),
    (lambda d: d.mkdir(), ['--label', 'y'], 'the folder holds no .csv file'),
    (lambda d: _write(d, ['a', 'b'], [[1, 2]] * 40), ['--label', 'y'],
     r"label 'y' is not a column of .*; its columns: a, b"),
    (lambda d: _write(d, ['a', 'y'], [[1, 2]] * 40), ['--label', 'y'], "has a single value"),
    (lambda d: _write(d, ['a', 'y'], [[i, i % 2] for i in range(10)]), ['--label', 'y'], 'at least 30'),
    (lambda d: _write(d, ['a', 'y'], [[i, i % 2] for i in range(40)] + [[1]]), ['--label', 'y'],
     r'row 42: 1 fields, the header has 2'),
    (lambda d: _write(d, ['a', 'y'], [[i, '' if i == 7 else i % 2] for i in range(40)]), ['--label', 'y'],
     r"label 'y' is empty in 1 row\(s\) \(data row 9\)"),
])
def test_bad_input_is_exit_2_and_nothing_written(tmp_path, make, args, message):
    data = tmp_path / 'data'
    make(data)
    result = run_tke('init', '--data', str(data), *args, '--output', str(tmp_path / 'out'))
    assert result.returncode == 2, result.stdout + result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / 'out').exists()
    assert [p.name for p in tmp_path.iterdir()] in ([], ['data'])


def test_an_existing_output_is_refused_unless_forced(mixed, tmp_path):
    out = tmp_path / 'taken'
    out.mkdir()
    (out / 'mine.txt').write_text('keep me')
    with pytest.raises(init.InitError, match='exists; choose another folder, or --force'):
        init.write_recipe(mixed['inference'], out, 'trips')
    assert (out / 'mine.txt').read_text() == 'keep me'
    init.write_recipe(mixed['inference'], out, 'trips', force=True)
    assert (out / 'recipe.toml').exists() and not (out / 'mine.txt').exists()
    with pytest.raises(init.InitError, match='must be a Python identifier'):
        init.write_recipe(mixed['inference'], tmp_path / 'not-ok', 'trips')


def test_a_name_column_whose_values_mostly_occur_once_is_left_out():
    names = [f'car model {i}' for i in range(150)] + ['ford pinto'] * 20 + ['vw golf'] * 30
    assert _column('name', names).reason.startswith('nearly an identifier (152 distinct values in 200 rows')


def test_a_new_batch_of_the_same_data_passes_the_curated_schema(mixed, tmp_path):
    """What ExampleValidator checks: TFDV's anomalies of the next 1,500 trips against the schema of the first 600."""
    import tensorflow_data_validation as tfdv
    from apache_beam.options.pipeline_options import PipelineOptions

    later = tmp_path / 'later.csv'
    rows = csv_rows_between(mixed_taxi_csv(tmp_path / 'all.csv', rows=2100), 600, 2100)
    # A label class the model never saw ('Prcard', 1 trip) is an anomaly, rightly: not the same data.
    rows = [r for r in rows if r['payment_type'] in mixed['inference'].classes]
    assert len(rows) > 1400
    _write(later, list(rows[0]), [list(r.values()) for r in rows])
    stats = tfdv.generate_statistics_from_csv(str(later), pipeline_options=PipelineOptions(
        ['--direct_running_mode=in_memory', '--direct_num_workers=1']))
    anomalies = tfdv.validate_statistics(stats, load_schema(mixed['folder'] / 'schema.pbtxt'))
    assert not anomalies.anomaly_info, {k: v.description for k, v in anomalies.anomaly_info.items()}


def csv_rows_between(path: Path, start: int, stop: int) -> List[Dict[str, str]]:
    with path.open(newline='') as f:
        return [row for i, row in enumerate(csv.DictReader(f)) if start <= i < stop]
