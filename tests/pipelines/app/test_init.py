"""tke init: the inference rules on small tables, the curated schema, the recipe it writes, bad input."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Dict, List

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from tests.conftest import run_tke
from tests.data_checks import anomalies_of
from tests.init_tables import mixed_taxi_csv
from tfx_keras_estimator.components.recipes import load_recipe
from tfx_keras_estimator.pipelines.app import init
from tfx_keras_estimator.pipelines.data import load_schema


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
    assert init.label_task(column, task) == expected


@pytest.mark.parametrize('cells, task, message', [
    (['a'] * 40, None, "label 'y' has a single value \\('a'\\) in all 40 rows"),
    (['', 'NA', ' '] * 10, None, r"label 'y' has no value in any of the 30 rows \(empty cells and missing tokens "
           r"\{'NA': 10\}\)"),
    (['a', 'b', 'c'] * 20, 'binary_classification', 'needs a label with two values'),
    (['a', 'b'] * 20, 'regression', "needs a numeric label; 'y' holds 'a'"),
    (['a', 'b'] * 20, 'ranking', "--task 'ranking' is not one of"),
])
def test_bad_labels(cells, task, message):
    column = init.Column('y')
    for i, cell in enumerate(cells):
        column.add(cell, (0, i + 2))
    with pytest.raises(init.InitError, match=message):
        init.label_task(column, task)


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
    assert init.steps_for(1_500) == (math.ceil(30 * 1_000 / 32), 16, 32)
    train, _, batch = init.steps_for(60_000)
    # 3 epochs of 40,000 rows would be 469 steps: the floor is what 49,999 rows get.
    assert (train, batch) == (init.steps_for(49_999)[0], 256) and train > math.ceil(3 * 40_000 / 256)
    # Never fewer steps for more rows: across each band's edge too.
    sizes = [30, 500, 1_999, 2_000, 2_001, 4_331, 15_000, 49_999, 50_000, 90_000, 2_000_000]
    steps = [init.steps_for(n)[0] for n in sizes]
    assert steps == sorted(steps) and init.steps_for(2_000)[0] == init.steps_for(1_999)[0]


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
    # Missing tokens make no text column: ExampleGen writes them as missing values.
    assert roles.numbers_as_text == ()
    assert {inference.columns[k].kind for k in ('trip_miles', 'fare')} == {'float'}
    assert {'trip_miles', 'fare', 'trip_seconds', 'tips', 'pickup_latitude'} <= set(roles.numeric)
    assert {'company', 'trip_start_month', 'trip_start_day'} <= set(roles.categorical)
    assert 'pickup_latitude' in roles.optional and 'trip_start_hour' not in roles.optional
    assert roles.excluded == {'pickup_census_tract': 'almost always empty (100% missing)'}


def test_the_curated_schema(mixed):
    schema = {f.name: f for f in load_schema(mixed['folder'] / 'schema.pbtxt').feature}
    label = schema['payment_type']
    assert label.presence.min_fraction == 1.0 and list(label.string_domain.value) == list(mixed['inference'].classes)
    # Missing tokens: numbers all the same (ExampleGen writes the tokens as missing values).
    assert schema['trip_miles'].type == schema_pb2.FLOAT and schema['trip_miles'].float_domain.max > 0
    assert schema['pickup_latitude'].presence.min_fraction == 0.0 and not schema['pickup_latitude'].HasField('shape')
    # Every feature but the label optional, complete here or not: a served row may lack it.
    assert label.HasField('shape') and not any(f.HasField('shape') for n, f in schema.items() if n != 'payment_type')
    seconds = schema['trip_seconds']
    assert seconds.type == schema_pb2.INT and seconds.int_domain.min == 0 and seconds.int_domain.max > 0
    company = schema['company']
    assert company.string_domain.value and 0.5 <= company.distribution_constraints.min_domain_mass < 0.99
    assert schema['trip_start_day'].int_domain.is_categorical
    assert schema['trip_start_timestamp'].presence.min_count == 1 and schema['trip_start_timestamp'].HasField(
        'int_domain')


def test_the_written_recipe_loads_with_the_generic_code(mixed):
    recipe = load_recipe(str(mixed['folder']))
    assert recipe.name == 'trips' and recipe.task == 'multiclass_classification'
    assert recipe.preprocessing_fn == init.GENERIC_PREPROCESSING_FN
    assert recipe.model_builder == init.GENERIC_MODEL_BUILDER
    assert recipe.class_labels == mixed['inference'].classes
    assert 'numbers_as_text' not in recipe.transform_config
    assert {'NA', 'N/A'} <= set(recipe.missing_tokens)
    assert (mixed['folder'] / 'data' / 'trips.csv').read_bytes() == mixed['csv'].read_bytes()
    assert recipe.gate.metric == 'accuracy' and 0 < recipe.gate.bound < 1
    # Two models for the Tuner to choose from: the hparams as they are, and the wide part alone.
    assert recipe.candidates == ({}, {'hidden_units': []})
    assert recipe.trainer_config().candidates == recipe.candidates


@pytest.mark.parametrize('make, args, message', [
    (lambda d: None, ['--label', 'y'], 'no such file or folder'),
    (lambda d: d.mkdir(), ['--label', 'y'], 'the folder holds no .csv file'),
    (lambda d: _write(d, ['a', 'b'], [[1, 2]] * 40), ['--label', 'y'],
     r"label 'y' is not a column of .*; its columns: a, b"),
    (lambda d: _write(d, ['a', 'y'], [[1, 2]] * 40), ['--label', 'y'], "has a single value"),
    (lambda d: _write(d, ['a', 'y'], [[i, i % 2] for i in range(10)]), ['--label', 'y'], 'at least 30'),
    (lambda d: _write(d, ['a', 'y'], [[i, i % 2] for i in range(40)] + [[1]]), ['--label', 'y'],
     r'row 42: 1 fields, the header has 2'),
    (lambda d: _write(d, ['a', 'y'], [[i, '' if i > 7 else i % 2] for i in range(40)]), ['--label', 'y'],
     r"8 rows have a label 'y' \(the other 32 have none\): a train/eval split needs at least 30"),
    (lambda d: _write(d, ['a', 'y'], [[i, 'NA'] for i in range(40)]), ['--label', 'y'],
     r"label 'y' has no value in any of the 40 rows"),
    (lambda d: _write(d, ['a', 'y'], [[i, i % 2] for i in range(40)]), ['--label', 'y', '--task', 'ranking'],
     r"invalid choice: 'ranking'"),
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
    # A hyphen is fine: the folder's name is no Python module (the recipe names the generic code).
    hyphen = init.write_recipe(mixed['inference'], tmp_path / 'my-trips', 'my-trips')
    assert load_recipe(str(hyphen)).name == 'my-trips'


def test_arguments_are_checked_before_the_data_is_read(tmp_path):
    """A wrong --output or --task is said at once, even where --data does not exist."""
    taken = tmp_path / 'taken'
    taken.mkdir()
    missing = tmp_path / 'nowhere.csv'
    result = run_tke('init', '--data', str(missing), '--label', 'y', '--output', str(taken))
    assert result.returncode == 2 and 'exists; choose another folder, or --force' in result.stderr, result.stderr
    with pytest.raises(init.InitError, match="--task 'ranking' is not one of"):
        init.infer(missing, 'y', 'ranking')


def test_a_name_column_whose_values_mostly_occur_once_is_left_out():
    names = [f'car model {i}' for i in range(150)] + ['ford pinto'] * 20 + ['vw golf'] * 30
    assert _column('name', names).reason.startswith('nearly an identifier (152 distinct values in 200 rows')


def test_a_new_batch_of_the_same_data_passes_the_curated_schema(mixed, tmp_path):
    """The next 1,500 trips against the schema of the first 600, through the checks tke run makes
    (data check, ExampleGen, statistics, ExampleValidator's anomalies): none."""
    later = tmp_path / 'later'
    later.mkdir()
    rows = csv_rows_between(mixed_taxi_csv(tmp_path / 'all.csv', rows=2100), 600, 2100)
    # A label class the model never saw ('Prcard', 1 trip) is an anomaly, rightly: not the same data.
    rows = [r for r in rows if r['payment_type'] in mixed['inference'].classes]
    assert len(rows) > 1400
    # Gaps where the first 600 trips had none (a column complete in training, not in new rows).
    assert mixed['inference'].columns['trip_start_hour'].missing_share == 0
    for i, row in enumerate(rows):
        if i % 9 == 0:
            row['trip_start_hour'] = 'NA' if i % 2 else ''
    _write(later / 'later.csv', list(rows[0]), [list(r.values()) for r in rows])
    assert anomalies_of(mixed['folder'], tmp_path / 'checks', later) == []


def test_rows_without_a_label_are_left_out_of_the_recipe_data(tmp_path):
    """As hitters.csv has it: NA in the label of some rows. They cannot be trained on."""
    rows = [[i, f' {"ab"[i % 2]} ', 'NA' if i % 7 == 0 else '' if i % 11 == 0 else i * 1.5] for i in range(90)]
    data = _write(tmp_path / 'pay.csv', ['years', 'league', 'salary'], rows)
    inference = init.infer(data, 'salary')
    unlabeled = sum(1 for i in range(90) if i % 7 == 0 or i % 11 == 0)
    assert inference.task == 'regression' and inference.unlabeled == unlabeled
    assert inference.unlabeled_where().startswith('pay.csv row 2, pay.csv row 9')
    folder = init.write_recipe(inference, tmp_path / 'pay', 'pay')
    with (folder / 'data' / 'pay.csv').open(newline='') as f:
        kept = list(csv.reader(f))
    assert kept[0] == ['years', 'league', 'salary'] and len(kept) == 1 + 90 - unlabeled
    # The other cells as they were, padding and all.
    assert kept[1] == ['1', ' b ', '1.5']
    assert anomalies_of(folder, tmp_path / 'checks') == []


def csv_rows_between(path: Path, start: int, stop: int) -> List[Dict[str, str]]:
    with path.open(newline='') as f:
        return [row for i, row in enumerate(csv.DictReader(f)) if start <= i < stop]


# --- Awkward tables, property-style: whatever tke init writes accepts the very CSV it read, and a
# new batch of the same source (another draw, with gaps where the first had none).

PADDED = ['red', 'green ', ' blue', 'Grün', 'naïve café', '東京 ', 'N']
QUOTED = ['Smith, John', 'Doe, "Jane"', 'O\'Brien, Pat', 'plain']
TOKENS = ['NA', '', 'NaN', 'N/A', ' NA ', '?']


def _cell(rng, kind: str, i: int, gaps: bool) -> str:
    if gaps and kind != 'token' and rng.random() < 0.08:
        return rng.choice(['', 'NA', ' ']) if kind in ('float', 'int', 'thousands') else rng.choice(['', ' '])
    if kind == 'padded':
        return PADDED[i % len(PADDED)] if i < len(PADDED) else rng.choice(PADDED)
    if kind == 'quoted':
        return QUOTED[i % len(QUOTED)] if i < len(QUOTED) else rng.choice(QUOTED)
    if kind == 'bool':
        return rng.choice(['TRUE', 'FALSE'])
    if kind == 'thousands':
        return f'{rng.randint(500, 99_000):,}'
    if kind == 'float':
        return rng.choice(TOKENS) if rng.random() < 0.1 else f'{rng.gauss(50, 12):.3f}'
    if kind == 'int':
        return str(rng.randint(0, 400))
    if kind == 'token':
        return rng.choice(['NA', 'NA', ''])
    raise ValueError(kind)


def _label(rng, task: str, i: int, row: List[str], kinds: List[str], unlabeled: bool) -> str:
    if task == 'rare':  # one class in 60 rows, and in every batch
        return 'rare' if i % 60 == 5 else rng.choice(['common a', 'common b '])
    numbers = [float(c.replace(',', '')) for c, k in zip(row, kinds, strict=True)
               if k in ('float', 'int', 'thousands') and c.strip() not in ('', *TOKENS)]
    signal = sum(numbers) / (1 + len(numbers)) + rng.gauss(0, 5)
    if task == 'regression':
        return 'NA' if unlabeled and i % 13 == 4 else f'{signal:.2f}'
    hot = row[0].strip() in ('red', 'blue', 'TRUE', 'N') or signal > 25
    return 'yes' if hot != (rng.random() < 0.2) else 'no'


AWKWARD = {
    'narrow': (['padded'], 'binary'),
    'wide': (['float', 'int', 'padded', 'bool', 'quoted'] * 12, 'binary'),
    'mixed': (['padded', 'quoted', 'bool', 'thousands', 'float', 'int', 'token'], 'regression'),
    'rare_classes': (['bool', 'float', 'padded', 'token'], 'rare'),
}


def _awkward_csv(path: Path, kinds: List[str], task: str, rows: int, seed: int, gaps: bool = False) -> Path:
    import random

    rng = random.Random(seed)
    header = [f'{k}_{j}' for j, k in enumerate(kinds)] + ['target']
    table = []
    for i in range(rows):
        row = [_cell(rng, k, i, gaps) for k in kinds]
        # Rows without a label in the first table only (tke init leaves them out of its copy;
        # the data check refuses them in a batch to train on).
        table.append(row + [_label(rng, task, i, row, kinds, unlabeled=not gaps)])
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write(path, header, table)


@pytest.mark.parametrize('name', sorted(AWKWARD))
def test_an_awkward_table_passes_the_checks_of_the_schema_init_wrote(name, tmp_path):
    kinds, task = AWKWARD[name]
    data = _awkward_csv(tmp_path / 'first' / f'{name}.csv', kinds, task, rows=240, seed=1)
    inference = init.infer(data, 'target')
    assert inference.task == {'binary': 'binary_classification', 'rare': 'multiclass_classification'}.get(
        task, 'regression')
    folder = init.write_recipe(inference, tmp_path / f'{name}-recipe', name)
    assert anomalies_of(folder, tmp_path / 'own') == []
    later = _awkward_csv(tmp_path / 'later' / f'{name}.csv', kinds, task, rows=300, seed=2, gaps=True)
    assert anomalies_of(folder, tmp_path / 'later-checks', later.parent) == []
    schema = {f.name: f for f in load_schema(folder / 'schema.pbtxt').feature}
    for column, kind in zip(inference.header, kinds, strict=False):
        if kind in ('float', 'int'):  # numbers stay numbers, tokens or not
            assert schema[column].type in (schema_pb2.FLOAT, schema_pb2.INT), column
        if kind == 'padded' and schema[column].string_domain.value:  # the values as ExampleGen writes them
            assert 'green ' in schema[column].string_domain.value, column
