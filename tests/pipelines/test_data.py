"""Pre-flight CSV checks: every bad input is named by file, row and column."""

from __future__ import annotations

import csv
import shutil

import pytest

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.data import (
    DataError,
    _rows_if_clean,
    column_rules,
    load_schema,
    validate_csv_dir,
    validate_data_dir,
)

HOUSING = get_recipe('housing')


@pytest.fixture()
def data(tmp_path, housing_csv):
    folder = tmp_path / 'data'
    folder.mkdir()
    shutil.copy(housing_csv, folder / 'houses.csv')
    return folder


def _check(folder):
    return validate_csv_dir(folder, HOUSING, load_schema(HOUSING.schema_path))


def _edit(path, line_no, column, value):
    lines = path.read_text().splitlines()
    header = lines[0].split(',')
    cells = lines[line_no - 1].split(',')
    cells[header.index(column)] = value
    lines[line_no - 1] = ','.join(cells)
    path.write_text('\n'.join(lines) + '\n')


def test_shipped_data_passes(data):
    summary = _check(data)
    assert summary.rows == 506 and len(summary.files) == 1


def test_missing_folder_and_no_csv(tmp_path):
    with pytest.raises(DataError, match='does not exist'):
        _check(tmp_path / 'nope')
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(DataError, match=r"no \.csv file in data folder .*'housing'"):
        _check(tmp_path)


def test_header_lacking_a_schema_column(data):
    path = data / 'houses.csv'
    path.write_text(path.read_text().replace('lstat,', 'lstat_pct,', 1))
    with pytest.raises(DataError, match=r"houses\.csv: header lacks schema column\(s\) \['lstat'\]"):
        _check(data)


def test_text_in_a_numeric_column(data):
    _edit(data / 'houses.csv', 40, 'rm', 'six')
    with pytest.raises(DataError, match=r"houses\.csv, row 40, column 'rm': 'six' is not a number"):
        _check(data)


def test_float_in_an_integer_column(data):
    _edit(data / 'houses.csv', 7, 'rad', '2.5')
    with pytest.raises(DataError, match=r"row 7, column 'rad': '2.5' is not an integer"):
        _check(data)


def test_nan_and_empty_required_value(data):
    _edit(data / 'houses.csv', 3, 'crim', 'nan')
    with pytest.raises(DataError, match=r"row 3, column 'crim': 'nan' is not a finite number"):
        _check(data)
    _edit(data / 'houses.csv', 3, 'crim', '')
    with pytest.raises(DataError, match=r"row 3, column 'crim': empty, but the schema requires a value"):
        _check(data)


def test_empty_file_header_only_and_ragged_row(data):
    path = data / 'houses.csv'
    text = path.read_text()
    path.write_text('')
    with pytest.raises(DataError, match='the file is empty'):
        _check(data)
    path.write_text(text.splitlines()[0] + '\n')
    with pytest.raises(DataError, match='header but no data rows'):
        _check(data)
    path.write_text(text + '1,2,3\n')
    with pytest.raises(DataError, match=r'row 508: 3 fields, the header has 14'):
        _check(data)


def test_files_with_different_headers(data):
    (data / 'more.csv').write_text('medv,crim\n1,2\n')
    with pytest.raises(DataError, match='more.csv'):
        _check(data)


def test_taxi_empty_cells_are_allowed(taxi_csv, tmp_path):
    taxi = get_recipe('taxi')
    assert validate_csv_dir(taxi.data_dir, taxi, load_schema(taxi.schema_path)).rows == 15002


def _taxi_copy(tmp_path, edit=None):
    taxi = get_recipe('taxi')
    folder = tmp_path / 'taxi'
    folder.mkdir()
    lines = (taxi.data_dir / 'chicago_taxi.csv').read_text().splitlines()
    if edit:
        edit(lines)
    (folder / 'taxi.csv').write_text('\n'.join(lines) + '\n')
    return folder, taxi, load_schema(taxi.schema_path)


def _set(lines, line_no, column, value):
    header = lines[0].split(',')
    cells = next(csv.reader([lines[line_no - 1]]))
    cells[header.index(column)] = value
    lines[line_no - 1] = ','.join(f'"{c}"' if ',' in c else c for c in cells)


def test_clean_files_take_the_fast_path(tmp_path):
    folder, taxi, schema = _taxi_copy(tmp_path)
    header = (folder / 'taxi.csv').read_text().splitlines()[0].split(',')
    assert _rows_if_clean(folder / 'taxi.csv', header, column_rules(schema)) == 15002


@pytest.mark.parametrize('edit, error', [
    (lambda lines: lines.insert(9, ''), r'row 10: 0 fields, the header has 18'),
    (lambda lines: _set(lines, 12, 'payment_type', '  '), r"row 12, column 'payment_type': empty, but the schema"),
    (lambda lines: _set(lines, 5, 'fare', 'inf'), r"row 5, column 'fare': 'inf' is not a finite number"),
    (lambda lines: _set(lines, 6, 'trip_start_hour', ''), r"row 6, column 'trip_start_hour': empty, but"),
    (lambda lines: _set(lines, 7, 'trip_seconds', '12.5'), r"row 7, column 'trip_seconds': '12.5' is not an integer"),
])
def test_what_the_fast_path_lets_through_the_row_check_names(tmp_path, edit, error):
    # The fast path never accepts a file the row-by-row check refuses; the error is the check's.
    folder, taxi, schema = _taxi_copy(tmp_path, edit)
    header = (folder / 'taxi.csv').read_text().splitlines()[0].split(',')
    assert _rows_if_clean(folder / 'taxi.csv', header, column_rules(schema)) is None
    with pytest.raises(DataError, match=r'taxi\.csv, ' + error):
        validate_csv_dir(folder, taxi, schema)


def test_cells_only_python_reads_as_numbers_still_pass(tmp_path):
    # ' 7' and '1_0' are integers to int() (and to the row check) but not to pyarrow.
    folder, taxi, schema = _taxi_copy(tmp_path, lambda lines: (_set(lines, 3, 'trip_seconds', ' 7'),
                                                               _set(lines, 4, 'trip_seconds', '1_0')))
    assert validate_csv_dir(folder, taxi, schema).rows == 15002


# TFRecord data folders (recipes with data_format='tfrecord', e.g. mobilenet).
MOBILENET = get_recipe('mobilenet')


def _check_tfrecords(folder):
    return validate_data_dir(folder, MOBILENET, load_schema(MOBILENET.schema_path))


def _write_records(path, records):
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record if isinstance(record, bytes) else record.SerializeToString())


def _example(**features):
    import tensorflow as tf

    example = tf.train.Example()
    for name, value in features.items():
        feature = example.features.feature[name]
        if isinstance(value, bytes):
            feature.bytes_list.value.append(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            feature.bytes_list.value.extend(value)
        elif isinstance(value, float):
            feature.float_list.value.append(value)
        else:
            feature.int64_list.value.extend(value if isinstance(value, list) else [value])
    return example


def test_shipped_tfrecords_pass_and_csv_recipes_keep_the_csv_check(data):
    summary = _check_tfrecords(MOBILENET.data_dir)
    assert summary.rows == 1797 and [p.name for p in summary.files] == ['digits.tfrecord']
    # validate_data_dir picks by the recipe's data_format: CSV recipes get the CSV check.
    assert validate_data_dir(data, HOUSING, load_schema(HOUSING.schema_path)).rows == 506
    with pytest.raises(DataError, match=r'no \.csv file'):
        validate_data_dir(MOBILENET.data_dir, HOUSING, load_schema(HOUSING.schema_path))


def test_tfrecord_folder_missing_or_without_records(tmp_path):
    with pytest.raises(DataError, match='does not exist'):
        _check_tfrecords(tmp_path / 'nope')
    (tmp_path / 'digits.csv').write_text('x')
    with pytest.raises(DataError, match=r"no \*\.tfrecord\* file in data folder .*'mobilenet'"):
        _check_tfrecords(tmp_path)
    _write_records(tmp_path / 'empty.tfrecord', [])
    with pytest.raises(DataError, match='hold no records'):
        _check_tfrecords(tmp_path)


def test_bad_records_are_named_by_file_record_and_feature(tmp_path):
    path = tmp_path / 'images.tfrecord'
    good = _example(image=b'png', label=3)
    cases = [
        (b'\xff\xfe not a proto', r'images\.tfrecord, record 2: not a tf\.Example'),
        (_example(label=3), r"images\.tfrecord, record 2: feature 'image' is missing, but the schema requires it"),
        (_example(image=b'png', label=3.0),
         r"record 2, feature 'label': a float_list, the schema wants a int64_list"),
        (_example(image=b'png', label=[3, 4]), r"record 2, feature 'label': 2 values, the schema's shape holds 1"),
        (_example(image=[b'png', b'png'], label=3),
         r"record 2, feature 'image': 2 values, the schema's value count is 1"),
    ]
    for bad, message in cases:
        _write_records(path, [good, good, bad, good])
        with pytest.raises(DataError, match=message):
            _check_tfrecords(tmp_path)


def test_truncated_tfrecord_file(tmp_path):
    path = tmp_path / 'images.tfrecord'
    _write_records(path, [_example(image=b'png', label=1)] * 3)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r'images\.tfrecord, record 2: not readable as a TFRecord'):
        _check_tfrecords(tmp_path)
