"""Checks a CSV data folder against the recipe's schema before any component runs.

CsvExampleGen infers column types from the data, so a stray word in a numeric
column silently turns the column into strings and the run fails much later, in
Transform, with an error about tensors. Checking up front gives an error that
names the file, the row and the column, and no run is started.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from tensorflow_metadata.proto.v0 import schema_pb2

from components.recipes.registry import Recipe


class DataError(ValueError):
    """Bad input data; the message names the file, row and column."""


@dataclass(frozen=True)
class DataSummary:
    files: List[Path]
    rows: int
    bytes: int


def load_schema(path: str | Path) -> schema_pb2.Schema:
    from google.protobuf import text_format

    path = Path(path)
    if not path.is_file():
        raise DataError(f'schema file {path} does not exist')
    return text_format.Parse(path.read_text(), schema_pb2.Schema())


def _column_rules(schema: schema_pb2.Schema) -> Dict[str, tuple]:
    rules = {}
    for feature in schema.feature:
        required = feature.presence.min_fraction >= 1.0
        rules[feature.name] = (feature.type, required)
    return rules


def _check_value(value: str, feature_type: int) -> str | None:
    """Why ``value`` does not fit the column type, or None."""
    if feature_type == schema_pb2.INT:
        try:
            int(value)
        except ValueError:
            return 'an integer'
    elif feature_type == schema_pb2.FLOAT:
        try:
            number = float(value)
        except ValueError:
            return 'a number'
        if not math.isfinite(number):
            return 'a finite number'
    return None


def validate_csv_dir(data_dir: str | Path, recipe: Recipe, schema: schema_pb2.Schema) -> DataSummary:
    """Raises DataError for anything CsvExampleGen or Transform would trip over later."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f'data folder {data_dir} does not exist (recipe {recipe.name!r})')
    files = sorted(p for p in data_dir.iterdir() if p.suffix.lower() == '.csv' and p.is_file())
    if not files:
        raise DataError(f'no .csv file in data folder {data_dir} (recipe {recipe.name!r})')
    rules = _column_rules(schema)
    total_rows = 0
    header0 = None
    for path in files:
        with path.open(newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            try:
                header = next(reader)
            except StopIteration:
                raise DataError(f'{path}: the file is empty (no header row)') from None
            except (csv.Error, UnicodeDecodeError) as e:
                raise DataError(f'{path}: unreadable header: {e}') from e
            missing = [name for name in rules if name not in header]
            if missing:
                raise DataError(
                    f'{path}: header lacks schema column(s) {missing} of recipe {recipe.name!r}; '
                    f'expected columns: {sorted(rules)}')
            if header0 is not None and header != header0:
                raise DataError(f'{path}: header differs from {files[0].name}; all CSV files of a '
                                f'folder must have the same columns in the same order')
            header0 = header0 or header
            index = {name: header.index(name) for name in rules}
            line = 1
            try:
                for line, row in enumerate(reader, start=2):
                    if len(row) != len(header):
                        raise DataError(f'{path}, row {line}: {len(row)} fields, the header has {len(header)}')
                    for name, (feature_type, required) in rules.items():
                        value = row[index[name]].strip()
                        if value == '':
                            if required:
                                raise DataError(f'{path}, row {line}, column {name!r}: empty, '
                                                'but the schema requires a value')
                            continue
                        problem = _check_value(value, feature_type)
                        if problem:
                            raise DataError(f'{path}, row {line}, column {name!r}: {value!r} is not {problem}')
                    total_rows += 1
            except (csv.Error, UnicodeDecodeError) as e:
                raise DataError(f'{path}, row {line + 1}: malformed CSV: {e}') from e
    if total_rows == 0:
        raise DataError(f'the CSV files in {data_dir} have a header but no data rows')
    return DataSummary(files=files, rows=total_rows, bytes=sum(p.stat().st_size for p in files))
