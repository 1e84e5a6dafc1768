"""Pre-flight CSV checks: every bad input is named by file, row and column."""

from __future__ import annotations

import shutil

import pytest

from components.recipes import get_recipe
from pipelines.data import DataError, load_schema, validate_csv_dir

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
