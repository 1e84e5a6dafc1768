"""``tke init``: a CSV and a label column -> a recipe folder (recipe.toml, schema.pbtxt, data/).

The schema starts as TFDV infers it from statistics of the examples the pipeline's
ExampleGen will write from the data (what SchemaGen would write; the same reader, types and
missing tokens, so the schema holds values exactly as the pipeline sees them), then is
curated: the label required, every other column optional (a new batch may have gaps, a
served row may lack it), categorical columns with their domains (loose enough for a new
batch of the same data), numbers with loose value ranges. Rows without a label are left out
of the recipe's copy of the data. Every column gets a role (numeric, categorical, or left out with the
reason: identifier, constant, almost always empty, free text); the task and the classes come
from the label. The recipe names the generic preprocessing_fn and model builder
(``components/recipes/generic``), which any of its files can swap for your own.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tfx_keras_estimator.components.recipes.generic.hparams import CANDIDATES, DEFAULT_HPARAMS
from tfx_keras_estimator.components.recipes.generic.roles import MISSING_TOKENS, Roles
from tfx_keras_estimator.components.recipes.registry import MetricGate
from tfx_keras_estimator.components.trainer.task import (
    BINARY_CLASSIFICATION,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    TASKS,
)
from tfx_keras_estimator.pipelines.data import read_header

GENERIC_PREPROCESSING_FN = 'tfx_keras_estimator.components.recipes.generic.preprocessing.preprocessing_fn'
GENERIC_MODEL_BUILDER = 'tfx_keras_estimator.components.recipes.generic.model.build'
# A 2:1 hash split of fewer rows leaves an eval split too small to gate on.
MIN_ROWS = 30
MAX_CLASSES = 100
# Distinct cells kept as written (padding and all) per column, for the string domains: a
# category may be spelled several ways ('a', 'a ', ' a'), each a value the schema must hold.
RAW_VALUES_CAP = 4 * MAX_CLASSES
# Above this expected share of unseen values (unseen_share) a column gets no string domain.
MAX_UNSEEN_SHARE = 0.5
# Numbers' value ranges: this many times the training spread beyond either end. Loose: a new
# batch's outliers pass (a 1,710-mile taxi trip where training had 229 at most); a change of
# units (x1000) does not.
RANGE_SPANS = 100
# Integer columns with at most this many values are codes (categories), not quantities.
MAX_INT_CATEGORIES = 20
# Integer labels with at most this many values are classes.
MAX_INT_CLASSES = 10
IDENTIFIER_DISTINCT_SHARE = 0.95
ALMOST_EMPTY_SHARE = 0.95
FREE_TEXT_MIN_WORDS = 4.0
# Kept per column to count distinct values; beyond it a column is "many".
DISTINCT_CAP = 100_000
NUMERIC, CATEGORICAL, LABEL, LEFT_OUT = 'numeric', 'categorical', 'label', 'left out'


class InitError(ValueError):
    """Bad input to tke init: the message names the file, row or column."""


@dataclass
class Column:
    """What one pass over the data found in one column."""

    name: str
    rows: int = 0
    empty: int = 0
    tokens: Counter = field(default_factory=Counter)
    numbers: int = 0  # non-missing cells that parse as numbers
    integers: int = 0  # ... and as integers
    values: Counter = field(default_factory=Counter)
    capped: bool = False
    total: float = 0.0
    total_sq: float = 0.0
    total_cube: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    words: int = 0
    empty_rows: List[Tuple[int, int]] = field(default_factory=list)  # (file index, line) of empty cells, the first few
    token_rows: List[Tuple[int, int]] = field(default_factory=list)  # ... and of missing tokens
    raw_values: Counter = field(default_factory=Counter)  # non-blank cells as written, up to RAW_VALUES_CAP
    # Decisions
    kind: str = ''
    role: str = ''
    reason: str = ''
    log: bool = False

    @property
    def present(self) -> int:
        return self.rows - self.empty - sum(self.tokens.values())

    @property
    def missing_share(self) -> float:
        return (self.rows - self.present) / self.rows if self.rows else 1.0

    @property
    def distinct(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return self.total / self.numbers if self.numbers else 0.0

    @property
    def std(self) -> float:
        if self.numbers < 2:
            return 0.0
        return math.sqrt(max(0.0, self.total_sq / self.numbers - self.mean ** 2))

    @property
    def skewness(self) -> float:
        std = self.std
        if not std:
            return 0.0
        n, m = self.numbers, self.mean
        third = self.total_cube / n - 3 * m * self.total_sq / n + 2 * m ** 3
        return third / std ** 3

    def add(self, cell: str, where: Tuple[int, int]) -> None:
        self.rows += 1
        value = cell.strip()
        if value == '':
            self.empty += 1
            if len(self.empty_rows) < 10:
                self.empty_rows.append(where)
            return
        # The cell as ExampleGen writes it (padding kept): what a string domain must hold.
        if len(self.raw_values) < RAW_VALUES_CAP or cell in self.raw_values:
            self.raw_values[cell] += 1
        if value in MISSING_TOKENS:
            self.tokens[value] += 1
            if len(self.token_rows) < 10:
                self.token_rows.append(where)
            return
        if len(self.values) < DISTINCT_CAP or value in self.values:
            self.values[value] += 1
        else:
            self.capped = True
        self.words += len(value.split())
        try:
            number = float(value)
        except ValueError:
            return
        if not math.isfinite(number):
            return
        self.numbers += 1
        if number == int(number) and '.' not in value and 'e' not in value.lower():
            self.integers += 1
        self.total += number
        self.total_sq += number * number
        self.total_cube += number ** 3
        self.minimum = min(self.minimum, number)
        self.maximum = max(self.maximum, number)


@dataclass
class Inference:
    files: List[Path]
    header: List[str]
    rows: int
    columns: Dict[str, Column]
    label: str
    task: str
    classes: Tuple[str, ...]
    gate: MetricGate
    train_steps: int
    eval_steps: int
    batch_size: int
    # Rows whose label is empty or a missing token: left out of the recipe's copy of the data.
    unlabeled: int = 0

    @property
    def labeled_rows(self) -> int:
        return self.rows - self.unlabeled

    def unlabeled_where(self) -> str:
        """The first few unlabeled rows, as file and row."""
        label = self.columns[self.label]
        places = sorted(label.empty_rows + label.token_rows)[:5]
        return ', '.join(f'{self.files[i].name} row {line}' for i, line in places)

    @property
    def roles(self) -> Roles:
        cols = [self.columns[n] for n in self.header]
        numeric = tuple(c.name for c in cols if c.role == NUMERIC)
        return Roles(
            numeric=numeric,
            log=tuple(c.name for c in cols if c.role == NUMERIC and c.log),
            categorical=tuple(c.name for c in cols if c.role == CATEGORICAL),
            optional=tuple(c.name for c in cols if c.role in (NUMERIC, CATEGORICAL) and c.missing_share > 0),
            excluded={c.name: c.reason for c in cols if c.role == LEFT_OUT})


def csv_files(data: Path) -> List[Path]:
    if data.is_file():
        return [data]
    if not data.is_dir():
        raise InitError(f'--data {data}: no such file or folder')
    files = sorted(p for p in data.iterdir() if p.is_file() and p.suffix.lower() == '.csv')
    if not files:
        raise InitError(f'--data {data}: the folder holds no .csv file')
    return files


def scan(files: Sequence[Path]) -> Tuple[List[str], Dict[str, Column], int]:
    """One pass over the CSV files: per-column counts; ragged rows and unreadable files are errors."""
    header: List[str] = []
    columns: Dict[str, Column] = {}
    rows = 0
    for index, path in enumerate(files):
        with path.open(newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            first = read_header(reader, path, InitError)
            if not header:
                header = [h.strip() for h in first]
                awkward = [n for n in header if ',' in n or '"' in n]
                if awkward:
                    raise InitError(f'{path}: column names {awkward} hold a comma or a quote, which ExampleGen cannot '
                                    'read as a name (it splits the header line on commas): rename them')
                duplicates = sorted(n for n, c in Counter(header).items() if c > 1)
                if duplicates or '' in header:
                    raise InitError(f'{path}: the header has duplicate or empty column names {duplicates or [""]}')
                columns = {name: Column(name) for name in header}
            elif [h.strip() for h in first] != header:
                raise InitError(f'{path}: its header differs from {files[0]}\'s; all files need the same columns')
            line = 1
            try:
                for line, row in enumerate(reader, start=2):
                    if not row:
                        continue
                    if len(row) != len(header):
                        raise InitError(f'{path}, row {line}: {len(row)} fields, the header has {len(header)}')
                    for name, cell in zip(header, row, strict=True):
                        columns[name].add(cell, (index, line))
                    rows += 1
            except (csv.Error, UnicodeDecodeError) as e:
                raise InitError(f'{path}, row {line + 1}: malformed CSV: {e}') from e
    return header, columns, rows


def _sort_classes(values: Sequence[str], numeric: bool) -> Tuple[str, ...]:
    return tuple(sorted(values, key=float) if numeric else sorted(values))


def label_task(column: Column, task: Optional[str]) -> Tuple[str, Tuple[str, ...]]:
    """The task and the classes (in a stable order) the label column implies; ``task`` overrides."""
    if task is not None and task not in TASKS:
        raise InitError(f'--task {task!r} is not one of {TASKS}')
    if not column.present:
        tokens = f' and missing tokens {dict(column.tokens)}' if column.tokens else ''
        raise InitError(f'label {column.name!r} has no value in any of the {column.rows} rows (empty cells{tokens}): '
                        'there is nothing to learn from; is --label the right column?')
    if column.distinct < 2:
        raise InitError(f'label {column.name!r} has a single value ({next(iter(column.values), "")!r}) in all '
                        f'{column.rows} rows: there is nothing to learn')
    numeric = column.numbers == column.present
    integers = numeric and column.integers == column.present
    if task is None:
        if not numeric or (integers and column.distinct <= MAX_INT_CLASSES):
            task = BINARY_CLASSIFICATION if column.distinct == 2 else MULTICLASS_CLASSIFICATION
        else:
            task = REGRESSION
    if task == REGRESSION:
        if not numeric:
            example = next(v for v in column.values if not _is_number(v))
            raise InitError(f'--task regression needs a numeric label; {column.name!r} holds {example!r}')
        return task, ()
    if column.capped or column.distinct > MAX_CLASSES:
        raise InitError(f'label {column.name!r} has more than {MAX_CLASSES} distinct values: too many classes '
                        '(for a number to predict, use --task regression)')
    classes = _sort_classes(list(column.values), numeric)
    if task == BINARY_CLASSIFICATION and len(classes) != 2:
        raise InitError(f'--task binary_classification needs a label with two values; {column.name!r} has '
                        f'{len(classes)}: {list(classes)[:10]}')
    return task, classes


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def decide_role(column: Column) -> None:
    """Sets kind, role and (for columns left out) the reason."""
    present = column.present
    column.kind = ('int' if column.integers == present else 'float') if present and column.numbers == present \
        else 'string'
    if column.kind == 'string' and column.tokens:
        # Missing tokens mean missing in numeric columns only; in a text column 'NA' is a value.
        column.values.update(column.tokens)
        column.tokens.clear()
        present = column.present
    if not present or column.missing_share > ALMOST_EMPTY_SHARE:
        column.role, column.reason = LEFT_OUT, f'almost always empty ({column.missing_share:.0%} missing)'
        return
    if column.distinct == 1 and not column.capped:
        column.role, column.reason = LEFT_OUT, f'constant ({next(iter(column.values))!r} in every filled cell)'
        return
    unique = column.capped or column.distinct >= IDENTIFIER_DISTINCT_SHARE * present
    if column.kind == 'string':
        words = column.words / present
        if words >= FREE_TEXT_MIN_WORDS and (unique or column.distinct > 0.5 * present):
            column.role = LEFT_OUT
            column.reason = (f'free text ({words:.0f} words a cell on average, {column.distinct} distinct): left out; '
                             'a bag of words would need a text preprocessing_fn (see the text recipe)')
        elif unique and present >= MIN_ROWS:
            column.role = LEFT_OUT
            column.reason = f'an identifier ({column.distinct} distinct values in {present} rows)'
        elif present >= MIN_ROWS and sum(1 for n in column.values.values() if n == 1) > 0.5 * present:
            # Most rows hold a value no other row has: nothing a vocabulary could generalize from.
            column.role = LEFT_OUT
            column.reason = (f'nearly an identifier ({column.distinct} distinct values in {present} rows, most of '
                             'them seen once)')
        else:
            column.role = CATEGORICAL
        return
    if column.kind == 'int':
        sequential = column.maximum - column.minimum + 1 <= 1.5 * column.distinct
        if unique and present >= MIN_ROWS and (sequential or _id_like(column.name)):
            column.role = LEFT_OUT
            column.reason = f'an identifier ({column.distinct} distinct integers in {present} rows)'
            return
        if column.distinct <= MAX_INT_CATEGORIES:
            column.role = CATEGORICAL
            return
    column.role = NUMERIC
    column.log = column.minimum >= 0 and column.skewness > 1.0


def _id_like(name: str) -> bool:
    lowered = name.lower()
    return lowered in ('id', 'key', 'index', 'uuid') or lowered.endswith(('_id', 'id', '_key', '_index'))


def gate_for(task: str, label: Column, classes: Tuple[str, ...]) -> MetricGate:
    """Better than a constant prediction: the mean (RMSE = the label's spread), the majority class, AUC 0.5."""
    if task == REGRESSION:
        std = label.std
        return MetricGate('rmse', higher_is_better=False, bound=_round(std), change_tolerance=_round(0.05 * std))
    if task == BINARY_CLASSIFICATION:
        return MetricGate('auc', higher_is_better=True, bound=0.5, change_tolerance=0.01)
    majority = max(label.values.values()) / label.present
    return MetricGate('accuracy', higher_is_better=True, bound=_round(majority), change_tolerance=0.01)


def _round(value: float) -> float:
    return float(f'{value:.4g}')


# (rows below, batch size, epochs): small tables get many passes, large ones few.
STEP_BANDS = ((2_000, 32, 30), (50_000, 128, 10), (None, 256, 3))


def steps_for(rows: int) -> Tuple[int, int, int]:
    """(train steps, eval steps, batch size): about 30 epochs of small data, 10 of medium, 3 of
    large, and never fewer steps than the largest table of a smaller band gets (else 1,999
    rows trained 1,250 steps and 2,000 rows 200, a tenth as many examples seen)."""
    train_rows, eval_rows = rows * 2 // 3, rows - rows * 2 // 3
    floor = 200
    for limit, batch, epochs in STEP_BANDS:
        if limit is None or rows < limit:
            break
        floor = max(floor, math.ceil(epochs * ((limit - 1) * 2 // 3) / batch))
    train = min(20_000, max(floor, math.ceil(epochs * train_rows / batch)))
    return train, min(200, max(1, math.ceil(eval_rows / batch))), batch


def check_arguments(label: str, task: Optional[str], output: Optional[Path] = None, force: bool = False) -> None:
    """What can be refused before any data is read: the task, the label's name, the output folder."""
    if task is not None and task not in TASKS:
        raise InitError(f'--task {task!r} is not one of {TASKS}')
    if not label or not label.strip():
        raise InitError('--label is empty: name the column to predict')
    if output is not None:
        output = output.resolve()
        if output.exists() and not force:
            raise InitError(f'--output {output} exists; choose another folder, or --force to replace it')
        if output.exists() and not output.is_dir():
            raise InitError(f'--output {output} is a file, not a folder')
        if not output.name or output.name.startswith('.'):
            raise InitError(f'--output {output}: name a folder (not hidden) for the recipe')


def infer(data: Path, label: str, task: Optional[str] = None) -> Inference:
    check_arguments(label, task)
    files = csv_files(data)
    with files[0].open(newline='', encoding='utf-8') as f:
        first = [h.strip() for h in read_header(csv.reader(f), files[0], InitError)]
    if label not in first:
        raise InitError(f'label {label!r} is not a column of {files[0]}; its columns: {", ".join(first)}')
    header, columns, rows = scan(files)
    if rows < MIN_ROWS:
        raise InitError(f'{rows} data rows in {", ".join(str(f) for f in files)}: a train/eval split needs at least '
                        f'{MIN_ROWS}')
    task, classes = label_task(columns[label], task)
    unlabeled = columns[label].rows - columns[label].present
    if rows - unlabeled < MIN_ROWS:
        raise InitError(f'{rows - unlabeled} rows have a label {label!r} (the other {unlabeled} have none): a '
                        f'train/eval split needs at least {MIN_ROWS}')
    for name, column in columns.items():
        if name == label:
            column.kind, column.role = ('string' if classes and column.numbers < column.present else
                                        'int' if column.integers == column.present else 'float'), LABEL
            if classes and column.kind == 'float':
                column.kind = 'string'
        else:
            decide_role(column)
    if not any(c.role in (NUMERIC, CATEGORICAL) for c in columns.values()):
        left = '; '.join(f'{c.name}: {c.reason}' for c in columns.values() if c.role == LEFT_OUT)
        raise InitError(f'no column is left to learn from ({left})')
    train_steps, eval_steps, batch = steps_for(rows - unlabeled)
    return Inference(files=files, header=header, rows=rows, columns=columns, label=label, task=task,
                     classes=classes, gate=gate_for(task, columns[label], classes), train_steps=train_steps,
                     eval_steps=eval_steps, batch_size=batch, unlabeled=unlabeled)


# TFDV's inferred schema is a skeleton that curate() fills from the whole scan (types fixed
# above, presence, shapes, domains, ranges): the first 16 blocks of 4 MB are enough for it,
# and keep a large table's Arrow batches out of memory.
SCHEMA_BLOCKS = 16


def example_gen_types(inference: Inference) -> Dict[str, str]:
    """Each column's type as the schema will give it, and so ExampleGen (``CsvOptions``)."""
    return {name: {'int': 'INT', 'float': 'FLOAT'}.get(inference.columns[name].kind, 'STRING')
            for name in inference.header}


def tfdv_schema(files: Sequence[Path], column_types: Dict[str, str]):
    """The schema TFDV infers (as SchemaGen would, infer_feature_shape on) from statistics of the
    examples the pipeline's ExampleGen writes from ``files``: the same reader, the same column
    types and missing tokens, so every value the schema holds is a value the data check,
    StatisticsGen and ExampleValidator will see, padding and all."""
    import apache_beam as beam
    import pyarrow as pa
    import tensorflow_data_validation as tfdv
    from apache_beam.options.pipeline_options import PipelineOptions

    from tfx_keras_estimator.components.fast_example_gen import reader
    from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions

    options = CsvOptions(column_types=tuple(column_types.items()), missing_tokens=MISSING_TOKENS)
    header = reader.check_same_header([str(f) for f in files])
    types, _ = reader.infer_column_types([str(f) for f in files], header, fixed=options.types,
                                         missing_tokens=options.missing_tokens)
    batches = []
    for path in files:
        for block in reader.iter_blocks(str(path), header):
            columns = reader.feature_columns(block, types, options.missing_tokens)
            batches.append(pa.RecordBatch.from_arrays(list(columns.values()), list(columns)))
            if len(batches) >= SCHEMA_BLOCKS:
                break
        if len(batches) >= SCHEMA_BLOCKS:
            break
    beam_options = PipelineOptions(['--direct_running_mode=in_memory', '--direct_num_workers=1'])
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, 'stats.pb')
        with beam.Pipeline(options=beam_options) as pipeline:
            _ = (pipeline | beam.Create(batches, reshuffle=False) | tfdv.GenerateStatistics()
                 | tfdv.WriteStatisticsToBinaryFile(output))
        stats = tfdv.load_stats_binary(output)
    return tfdv.infer_schema(stats, infer_feature_shape=True)


def unseen_share(column: Column) -> float:
    """How much of a new batch may hold values this column never had: three times the
    Good-Turing estimate (the share of cells whose value occurs once), at least 1%."""
    once = sum(1 for n in column.values.values() if n == 1)
    return max(0.01, 3.0 * once / max(1, column.present))


def curate(schema, inference: Inference):
    """TFDV's schema, curated: the label required; every other column optional; domains of the
    values as ExampleGen writes them; loose ranges.

    Optional even where this table has no empty cell: a new batch of the same source may have
    gaps, and a served model answers a row without the feature (the generic preprocessing_fn
    fills it as training did). Optional features are parsed as sparse (no ``shape``).
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    for feature in schema.feature:
        column = inference.columns[feature.name]
        required = column.role == LABEL
        feature.presence.min_fraction = 1.0 if required else 0.0
        # A column left out may be empty in a whole batch; the others need a value somewhere.
        feature.presence.min_count = 0 if column.role == LEFT_OUT else 1
        if required:
            feature.ClearField('value_count')
            feature.shape.Clear()
            feature.shape.dim.add().size = 1
        else:
            # ExampleGen writes an empty cell (or a missing token) as the feature with no value.
            feature.ClearField('shape')
            feature.value_count.min = 0
            feature.value_count.max = 1
        if feature.HasField('domain'):  # a named global string domain: made local below where kept
            feature.ClearField('domain')
        for name in ('string_domain', 'int_domain', 'float_domain'):
            if feature.HasField(name):
                feature.ClearField(name)
        feature.ClearField('distribution_constraints')
        if column.role == LEFT_OUT:
            continue  # in the schema (the CSV has it), optional above, constrained in nothing else
        if column.role == LABEL and inference.classes:
            if feature.type == schema_pb2.BYTES:
                # Each class as the cells spell it (padding and all), in the classes' order.
                spelled = {c: sorted(v for v in column.raw_values if v.strip() == c) for c in inference.classes}
                feature.string_domain.value.extend(v for c in inference.classes for v in spelled[c])
            else:
                feature.int_domain.min = int(min(float(c) for c in inference.classes))
                feature.int_domain.max = int(max(float(c) for c in inference.classes))
                feature.int_domain.is_categorical = True
            continue
        if column.role == CATEGORICAL:
            unseen = unseen_share(column)
            if feature.type == schema_pb2.BYTES and column.distinct <= MAX_CLASSES \
                    and len(column.raw_values) < RAW_VALUES_CAP and unseen <= MAX_UNSEEN_SHARE:
                # As ExampleGen writes them (padding kept); the preprocessing_fn strips them.
                feature.string_domain.value.extend(sorted(column.raw_values))
                # A new batch of the same data holds values not seen here (the model's OOV
                # bucket): an anomaly only when there are clearly more of them than this
                # table's rare values predict (a changed coding: 'M'/'F' become 'male'/'female').
                feature.distribution_constraints.min_domain_mass = round(1.0 - unseen, 3)
            elif feature.type == schema_pb2.INT:
                feature.int_domain.is_categorical = True
            continue
        if column.role in (NUMERIC, LABEL) and feature.type in (schema_pb2.INT, schema_pb2.FLOAT):
            # Loose (RANGE_SPANS): only a change of scale or units falls outside.
            span = (column.maximum - column.minimum) or abs(column.maximum) or 1.0
            low, high = column.minimum - RANGE_SPANS * span, column.maximum + RANGE_SPANS * span
            if column.minimum >= 0:
                low = max(0.0, low)
            if feature.type == schema_pb2.INT:
                feature.int_domain.min, feature.int_domain.max = math.floor(low), math.ceil(high)
            else:
                feature.float_domain.min, feature.float_domain.max = low, high
    schema.ClearField('string_domain')
    return schema


def recipe_toml(inference: Inference, name: str, data_subdir: str) -> str:
    """recipe.toml of the generated recipe: every setting written out, with why."""
    roles = inference.roles
    label = inference.columns[inference.label]

    def lst(values: Sequence[str]) -> str:
        return json.dumps(list(values))

    lines = [
        f'# Written by `tke init` from {", ".join(f.name for f in inference.files)} ({inference.rows} rows'
        + (f'; {inference.unlabeled} without a label left out of data/).' if inference.unlabeled else ').'),
        '# Every setting can be edited; swap preprocessing_fn or model_builder for your own code.',
        f'name = {json.dumps(name)}',
        f'description = {json.dumps(f"{name}: predict {inference.label} ({inference.task})")}',
        f'task = "{inference.task}"',
        f'label_key = {json.dumps(inference.label)}',
        f'preprocessing_fn = "{GENERIC_PREPROCESSING_FN}"',
        f'model_builder = "{GENERIC_MODEL_BUILDER}"',
    ]
    if inference.classes:
        positive = f'; positive class {inference.classes[1]!r}' if inference.task == BINARY_CLASSIFICATION else ''
        lines.append(f'# In this order: class i is class_labels[i]{positive}.')
        lines.append(f'class_labels = {lst(inference.classes)}')
    lines += [
        f'data = "{data_subdir}"',
        '# Cells of a number column that mean "missing" (blank ones always do): ExampleGen writes them as',
        '# missing values, so the column stays numbers in the statistics and in the served model.',
        f'missing_tokens = {lst(MISSING_TOKENS)}',
        f'# About {inference.train_steps * inference.batch_size / max(1, inference.labeled_rows * 2 // 3):.0f} '
        f'epochs of the training split (batches of {inference.batch_size}).',
        f'train_steps = {inference.train_steps}',
        f'eval_steps = {inference.eval_steps}',
        '',
        '# Better than a constant prediction (the mean, the majority class, AUC 0.5), and no',
        '# worse than the last blessed model by more than the tolerance.',
        '[gate]',
        f'metric = "{inference.gate.metric}"',
        f'higher_is_better = {str(inference.gate.higher_is_better).lower()}',
        f'bound = {inference.gate.bound}',
        f'change_tolerance = {inference.gate.change_tolerance}',
        '',
        '[hparams]',
        *(f'{key} = {json.dumps(value)}' for key, value in DEFAULT_HPARAMS.items()),
        f'batch_size = {inference.batch_size}',
    ]
    if inference.task == REGRESSION:
        lines += ['# The label\'s mean and spread: the output layer serves in the label\'s units.',
                  f'label_mean = {_round(label.mean)}', f'label_std = {_round(label.std) or 1.0}']
    lines += ['', '# Models to choose from, each [hparams] with these changes: TFX\'s Tuner trains each for',
              f'# train_steps and the Trainer trains the one with the best {inference.gate.metric} on the eval split.',
              '# Delete them all to train [hparams] as they are.']
    for what, changes in CANDIDATES:
        lines += ['[[candidates]]', f'# {what}', *(f'{key} = {json.dumps(value)}' for key, value in changes.items())]
    lines += ['', '# Column roles, read by the generic preprocessing_fn.', '[transform]',
              f'numeric = {lst(roles.numeric)}', f'log = {lst(roles.log)}',
              f'categorical = {lst(roles.categorical)}', f'optional = {lst(roles.optional)}',
              f'buckets = {roles.buckets}', f'vocab_size = {roles.vocab_size}', f'oov_buckets = {roles.oov_buckets}',
              '# Interactions to learn as one categorical feature each, e.g. [["a", "b"]] (numbers by their',
              '# quantile bucket); none unless you know which matter.',
              f'crosses = {json.dumps([list(c) for c in roles.crosses])}']
    if roles.excluded:
        lines += ['', '# Left out (in the schema, since the CSV has them, but not fed to the model):',
                  '[transform.excluded]']
        lines += [f'{json.dumps(k)} = {json.dumps(v)}' for k, v in roles.excluded.items()]
    return '\n'.join(lines) + '\n'


def write_recipe(inference: Inference, output: Path, name: str, force: bool = False) -> Path:
    """Writes the folder in a temporary sibling and moves it into place: nothing is half-written."""
    from google.protobuf import text_format

    output = output.resolve()
    check_arguments(inference.label, inference.task, output, force)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{output.name}-', dir=output.parent))
    try:
        (staging / 'data').mkdir()
        copies = [copy_data(path, staging / 'data' / path.name, inference) for path in inference.files]
        schema = curate(tfdv_schema(copies, example_gen_types(inference)), inference)
        (staging / 'schema.pbtxt').write_text(text_format.MessageToString(schema))
        (staging / 'recipe.toml').write_text(recipe_toml(inference, name, 'data'))
        if output.exists():
            shutil.rmtree(output)
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output


def copy_data(source: Path, target: Path, inference: Inference) -> Path:
    """The file as it is, or rewritten where ExampleGen would not read it as tke init did: rows
    without a label left out (nothing can be trained on them), the header's names unpadded
    and unquoted (ExampleGen splits the first line on commas as it stands)."""
    label = inference.header.index(inference.label)
    with source.open(newline='', encoding='utf-8') as f:
        first_line = f.readline()
    if not inference.unlabeled and first_line.strip() == ','.join(inference.header):
        shutil.copy2(source, target)
        return target
    with source.open(newline='', encoding='utf-8') as f, target.open('w', newline='', encoding='utf-8') as out:
        reader = csv.reader(f)
        next(reader)
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow(inference.header)
        for row in reader:
            if row and row[label].strip() not in ('', *MISSING_TOKENS):
                writer.writerow(row)
    return target


def report_lines(inference: Inference) -> List[str]:
    """Per column: kind, role, missing share (and tokens), distinct values; the reason if left out."""
    lines = [f'  {"column":<24} {"kind":<7} {"role":<12} {"missing":>8} {"distinct":>9}  note']
    for name in inference.header:
        c = inference.columns[name]
        tokens = ', '.join(f'{n} {t!r}' for t, n in c.tokens.most_common())
        note = c.reason or ('log1p' if c.log else '')
        if tokens:
            note = '; '.join(p for p in (note, f'missing tokens: {tokens}') if p)
        distinct = f'{c.distinct}+' if c.capped else str(c.distinct)
        lines.append(f'  {name:<24} {c.kind:<7} {c.role:<12} {c.missing_share:>8.1%} {distinct:>9}  {note}'.rstrip())
    return lines
