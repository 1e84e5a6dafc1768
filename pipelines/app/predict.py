"""``tke predict``: raw rows in, a pushed model's predictions out.

The served model takes serialized raw tf.Examples (Transform's graph is inside), so a
client needs the raw schema to type the values and the task to read the answers. The
Trainer writes both into the model's ``assets.extra/`` (components/trainer/export.py);
here they are read back, rows (CSV or JSON lines) are checked with the data check's
rules (pipelines/data.py), turned into tf.Examples and sent through ``serving_default``.

Every row is read and checked before the model runs, and every prediction is made
before anything is printed: bad input prints nothing but the error.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, TextIO, Tuple

from tensorflow_metadata.proto.v0 import schema_pb2

from tfx_keras_estimator.components.recipes.generic.roles import MISSING_TOKENS
from tfx_keras_estimator.components.recipes.registry import read_schema
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, REGRESSION, TASKS
from tfx_keras_estimator.pipelines.app.local_runner import RunPaths
from tfx_keras_estimator.pipelines.app.serving import incomplete_reason, newest_complete, versions
from tfx_keras_estimator.pipelines.config import EXIT_BAD_INPUT
from tfx_keras_estimator.pipelines.data import DataError, check_cells, column_rules, is_missing, read_header

# What components/trainer/export.py writes (not imported: it loads TensorFlow Model Analysis).
ASSETS_EXTRA_DIR = 'assets.extra'
MODEL_DESCRIPTION_FILE = 'tke_model.json'
MODEL_DESCRIPTION_VERSION = 1
DEFAULT_BATCH_SIZE = 1024
INPUT_FORMATS = ('csv', 'json')
OUTPUT_FORMATS = ('csv', 'jsonl')
PREDICTION_COLUMN = 'prediction'
CLASS_COLUMN = 'class'
SCORE_PREFIX = 'score_'

COMMAND = 'predict'
HELP_WIDTH = 80
EXIT_FAILED = 1


@dataclass(frozen=True)
class ModelDescription:
    """A pushed model as ``assets.extra/`` describes it: what it takes and what it answers."""

    model_dir: Path
    task: str
    label_key: str
    class_labels: Tuple[str, ...]
    prediction_key: str
    input_key: str
    signature: str
    schema: schema_pb2.Schema

    @property
    def rules(self) -> Dict[str, Tuple[int, bool]]:
        """Column -> (schema type, required) for the columns a client sends (all but the label).

        Required as the served model requires it: a fixed-length feature (the schema gives it
        a ``shape``; the recipe asked for it strict). Any other may be missing from a row,
        and the model fills it as training did, whatever the data check asks of training data.
        """
        return {name: (kind, feature_required(self.schema, name))
                for name, (kind, _) in column_rules(self.schema, skip=[self.label_key]).items()}


@dataclass(frozen=True)
class Row:
    """One input row: where it is (for errors) and its text per column."""

    where: str
    cells: Dict[str, str]


def load_description(model_dir: str | Path) -> ModelDescription:
    """Reads ``model_dir/assets.extra/``; a ValueError naming the folder when it is absent or bad."""
    model_dir = Path(model_dir)
    folder = model_dir / ASSETS_EXTRA_DIR
    path = folder / MODEL_DESCRIPTION_FILE
    if not path.is_file():
        raise ValueError(
            f'{model_dir} has no model description ({folder}/{MODEL_DESCRIPTION_FILE}): the model was exported '
            'before tke wrote one, or not by tke. Run the pipeline again (tke run) and predict with --run of that '
            'newer run, or --model of its pushed version.')
    try:
        spec = json.loads(path.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{path} is not JSON: {e}') from e
    if not isinstance(spec, dict):
        raise ValueError(f'{path} holds no JSON object')
    version = spec.get('format_version')
    if version != MODEL_DESCRIPTION_VERSION:
        raise ValueError(f'{path} has format_version {version!r}; this tke reads {MODEL_DESCRIPTION_VERSION}')
    try:
        task = spec['task']
        description = ModelDescription(
            model_dir=model_dir, task=task, label_key=str(spec['label_key']),
            class_labels=tuple(str(c) for c in spec.get('class_labels') or ()),
            prediction_key=str(spec['prediction_key']), input_key=str(spec['input_key']),
            signature=str(spec['signature']), schema=read_schema(folder / str(spec['raw_schema'])))
    except KeyError as e:
        raise ValueError(f'{path} lacks {e.args[0]!r}') from None
    if task not in TASKS:
        raise ValueError(f'{path}: task {task!r} is not one of {TASKS}')
    return description


def resolve_model(run_dir: Optional[str | Path] = None, model: Optional[str | Path] = None) -> Path:
    """The SavedModel folder to load: the newest complete pushed version of ``run_dir``, or ``model``.

    ``model`` is a SavedModel folder, or a serving folder of numbered versions (then its newest
    complete one). A ValueError says what is missing.
    """
    if (run_dir is None) == (model is None):
        raise ValueError('name either a run directory or a model folder')
    if run_dir is not None:
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ValueError(f'run directory {run_dir} does not exist')
        return _newest(RunPaths(run_dir).serving_dir, f'run directory {run_dir}')
    model = Path(model)
    if (model / 'saved_model.pb').is_file():
        reason = incomplete_reason(model)
        if reason:
            raise ValueError(f'{model} is not a complete SavedModel: {reason}')
        return model
    if model.is_dir() and versions(model):
        return _newest(model, f'serving folder {model}')
    raise ValueError(f'{model} is neither a SavedModel folder (no saved_model.pb) nor a serving folder of '
                     'numbered versions')


def _newest(serving_dir: Path, what: str) -> Path:
    newest = newest_complete(serving_dir)
    if newest is not None:
        return newest
    found = versions(serving_dir)
    if found:
        raise ValueError(f'{what}: none of the {len(found)} version folder(s) in {serving_dir} is a complete '
                         'model (an interrupted push; the next tke run sets it aside)')
    raise ValueError(f'{what} has no pushed model in {serving_dir}: no run of it was blessed and pushed yet')


def read_csv_rows(f: TextIO, name: str, rules: Mapping[str, Tuple[int, bool]]) -> List[Row]:
    """Rows of a CSV stream with a header row, numbered as the data check does (the header is row 1)."""
    reader = csv.reader(f)
    header = [column.strip() for column in read_header(reader, name)]
    missing = [column for column, (_, required) in rules.items() if required and column not in header]
    if missing:
        raise DataError(f'{name}: header lacks the required column(s) {missing}; the model takes '
                        f'{sorted(rules)}')
    rows = []
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            if len(values) != len(header):
                raise DataError(f'{name}, row {line}: {len(values)} fields, the header has {len(header)}')
            rows.append(Row(f'{name}, row {line}', dict(zip(header, values, strict=True))))
    except (csv.Error, UnicodeDecodeError) as e:
        raise DataError(f'{name}, row {line + 1}: malformed CSV: {e}') from e
    return rows


def read_json_rows(f: TextIO, name: str, rules: Mapping[str, Tuple[int, bool]]) -> List[Row]:
    """Rows of a JSON lines stream: one object per line (blank lines skipped), numbered from line 1.

    A value is a number or a string; null or a missing key is an empty cell.
    """
    rows = []
    line = 0
    try:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            where = f'{name}, line {line}'
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise DataError(f'{where}: not JSON: {e}') from e
            if not isinstance(obj, dict):
                raise DataError(f'{where}: a JSON {type(obj).__name__}, not an object of column: value')
            rows.append(Row(where, {column: _json_cell(obj[column], where, column)
                                    for column in rules if column in obj}))
    except UnicodeDecodeError as e:
        raise DataError(f'{name}, line {line + 1}: not UTF-8: {e}') from e
    return rows


def _json_cell(value: Any, where: str, column: str) -> str:
    if value is None:
        return ''
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = {bool: 'boolean', list: 'list', dict: 'object'}.get(type(value), type(value).__name__)
        raise DataError(f'{where}, column {column!r}: a JSON {kind}; a column holds one number or string')
    return repr(value)


def feature_required(schema: schema_pb2.Schema, name: str) -> bool:
    """Whether the served model refuses a row without the feature: a fixed-length one."""
    return any(f.name == name and f.HasField('shape') for f in schema.feature)


def check_rows(rows: Sequence[Row], rules: Mapping[str, Tuple[int, bool]]) -> int:
    """The data check's rules, row by row (a DataError names the row and the column); returns
    how many rows have a missing cell (empty, absent, or a missing token in a number column)."""
    if not rows:
        raise DataError('no rows to predict')
    incomplete = 0
    for row in rows:
        check_cells(row.cells, rules, row.where, MISSING_TOKENS)
        incomplete += any(is_missing(row.cells.get(name, ''), kind, MISSING_TOKENS)
                          for name, (kind, _) in rules.items())
    return incomplete


def to_examples(rows: Iterable[Row], schema: schema_pb2.Schema, rules: Mapping[str, Tuple[int, bool]]) -> List[bytes]:
    """One serialized raw tf.Example per (checked) row, typed by the schema; empty cells are left out.

    Only the columns of ``rules`` go in: the label and columns the schema does not know stay out.
    """
    from tensorflow.core.example import example_pb2

    types = {feature.name: feature.type for feature in schema.feature}
    out = []
    for row in rows:
        example = example_pb2.Example()
        for column in rules:
            value = row.cells.get(column, '')
            if is_missing(value, types[column], MISSING_TOKENS):
                continue
            feature = example.features.feature[column]
            if types[column] == schema_pb2.INT:
                feature.int64_list.value.append(int(value.strip()))
            elif types[column] == schema_pb2.FLOAT:
                feature.float_list.value.append(float(value.strip()))
            else:
                feature.bytes_list.value.append(value.encode('utf-8'))
        # Deterministic: the map of features in key order, the same bytes for the same row.
        out.append(example.SerializeToString(deterministic=True))
    return out


def run_model(description: ModelDescription, examples: Sequence[bytes],
              batch_size: int = DEFAULT_BATCH_SIZE) -> Dict[str, Any]:
    """The served outputs (name -> numpy array, one row per example) of ``description.signature``."""
    import numpy as np
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f'the batch size must be at least 1, got {batch_size}')
    loaded = tf.saved_model.load(str(description.model_dir))
    if description.signature not in loaded.signatures:
        raise ValueError(f'{description.model_dir} has no signature {description.signature!r} '
                         f'(it has {sorted(loaded.signatures)})')
    signature = loaded.signatures[description.signature]
    inputs = list(signature.structured_input_signature[1])
    # Classify/regress signatures name their one input 'inputs'; tke's predict one, 'examples'.
    input_key = inputs[0] if len(inputs) == 1 else description.input_key
    parts: Dict[str, List[Any]] = {}
    for start in range(0, len(examples), batch_size):
        batch = tf.constant(list(examples[start:start + batch_size]), dtype=tf.string)
        try:
            outputs = signature(**{input_key: batch})
        except tf.errors.OpError as e:
            raise RuntimeError(f'the model failed on rows {start + 1}-{start + int(batch.shape[0])} of the input: '
                               f'{e.message}') from e
        for name, tensor in outputs.items():
            parts.setdefault(name, []).append(tensor.numpy())
    return {name: np.concatenate(values, axis=0) for name, values in parts.items()}


def _class_labels(description: ModelDescription, num_classes: int) -> Tuple[str, ...]:
    labels = description.class_labels or tuple(str(i) for i in range(num_classes))
    if len(labels) != num_classes:
        raise ValueError(f'{description.model_dir}: {len(labels)} class labels {list(labels)} for '
                         f'{num_classes} scores per row')
    return labels


def predictions(description: ModelDescription, outputs: Mapping[str, Any]) -> Tuple[List[str], List[List[Any]]]:
    """Output columns and one row per example: ``prediction`` (regression), or ``class`` (the label
    with the top score) and ``score_<label>`` per class, in class_labels order.

    Reads the Keras model's output (``prediction_key``: a value, a sigmoid unit's P(class 1), or one
    softmax score per class) or, for a pre-made Estimator, its ``scores`` / ``outputs``.
    """
    import numpy as np

    for key in (description.prediction_key, 'scores', 'outputs', 'predictions'):
        if key in outputs:
            values = np.asarray(outputs[key], dtype=np.float64)
            break
    else:
        raise ValueError(f'{description.model_dir}: the {description.signature!r} outputs {sorted(outputs)} hold '
                         f'no {description.prediction_key!r}, scores or outputs')
    values = values.reshape(values.shape[0], -1)
    if description.task == REGRESSION:
        if values.shape[1] != 1:
            raise ValueError(f'{description.model_dir}: a regression model with {values.shape[1]} values per row')
        return [PREDICTION_COLUMN], [[float(v)] for v in values[:, 0]]
    if description.task == BINARY_CLASSIFICATION and values.shape[1] == 1:
        # A sigmoid unit: P(class_labels[1]).
        values = np.concatenate([1.0 - values, values], axis=1)
    labels = _class_labels(description, values.shape[1])
    top = np.argmax(values, axis=1)
    rows = [[labels[int(i)], *(float(s) for s in scores)] for i, scores in zip(top, values, strict=True)]
    return [CLASS_COLUMN, *(SCORE_PREFIX + label for label in labels)], rows


def _number(value: Any) -> Any:
    """A float32 output as its shortest decimal (23.456789, not 23.456789016723633)."""
    if isinstance(value, float):
        import numpy as np

        return float(str(np.float32(value))) if math.isfinite(value) else value
    return value


def format_predictions(columns: Sequence[str], rows: Sequence[Sequence[Any]], output_format: str) -> str:
    """CSV with a header row, or JSON lines of column: value objects."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f'output format {output_format!r} is not one of {OUTPUT_FORMATS}')
    out = io.StringIO()
    if output_format == 'csv':
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow(columns)
        writer.writerows([[_number(v) for v in row] for row in rows])
    else:
        for row in rows:
            out.write(json.dumps(dict(zip(columns, (_number(v) for v in row), strict=True))) + '\n')
    return out.getvalue()


def read_rows(source: str, input_format: str, rules: Mapping[str, Tuple[int, bool]],
              stdin: Optional[TextIO] = None) -> List[Row]:
    """Rows from a file, or from ``stdin`` when ``source`` is ``-``, in ``input_format`` (csv or json)."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f'input format {input_format!r} is not one of {INPUT_FORMATS}')
    reader = read_csv_rows if input_format == 'csv' else read_json_rows
    if source == '-':
        return reader(stdin if stdin is not None else sys.stdin, '<stdin>', rules)
    path = Path(source)
    if not path.is_file():
        raise DataError(f'input file {path} does not exist')
    with path.open(newline='', encoding='utf-8-sig') as f:
        return reader(f, str(path), rules)


def predict_rows(description: ModelDescription, rows: Sequence[Row], output_format: str = 'csv',
                 batch_size: int = DEFAULT_BATCH_SIZE) -> str:
    """Checks ``rows``, runs the model on them and returns the formatted predictions, in row order."""
    rules = description.rules
    check_rows(rows, rules)
    examples = to_examples(rows, description.schema, rules)
    columns, values = predictions(description, run_model(description, examples, batch_size))
    return format_predictions(columns, values, output_format)


DESCRIPTION = textwrap.fill(
    'Predict with a pushed model: raw rows in (CSV with a header row, or JSON lines of one object per line), '
    'one prediction per row out, in the order of the rows. The model is the newest complete version in '
    'RUN_DIR/serving/ (--run), or the SavedModel folder you name (--model); it carries its raw schema and task '
    'in assets.extra/. Rows are checked as tke run checks data: text or NaN in a numeric column, a float in an '
    'integer column, a ragged row, a column the model requires (a strict recipe\'s) empty or missing is an error '
    'naming the row and column, and nothing is printed (exit code 2). Empty cells, null values and missing '
    'tokens in a numeric column (NA, N/A, NaN, null, ?, ...) are missing values, which the model fills as '
    'training did; how many rows had one is said on stderr. The label column, '
    'if present, and columns the schema does not know (an id, say) are ignored. CSV rows are numbered as in '
    'the file (the header is row 1), JSON lines from line 1.', width=HELP_WIDTH)
USAGE = ('%(prog)s (--run RUN_DIR | --model SAVED_MODEL_DIR) (--csv FILE | --json FILE | -) [--format csv|json]\n'
         '       [--output-format csv|jsonl] [--batch-size N]')
EPILOG = textwrap.fill(
    'output: regression: one column, prediction. classification: class (the class with the top score) and '
    'score_<class> for each class, in the order of the task\'s class labels.', width=HELP_WIDTH) + (
    '\n\nexamples:\n'
    '  tke predict --run runs/housing --csv rows.csv\n'
    '  tke predict --model runs/taxi/serving/1712345678 --json trips.jsonl --output-format jsonl\n'
    '  head -5 data.csv | tke predict --run runs/housing -')


def add_subcommand(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers ``tke predict`` on the ``tke`` subparsers."""
    parser = sub.add_parser(COMMAND, help='predict with a pushed model: raw rows (CSV or JSON lines) in, '
                            'predictions out', description=DESCRIPTION, epilog=EPILOG, usage=USAGE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument('--run', metavar='RUN_DIR',
                       help='a run directory of tke run: its newest complete pushed model (RUN_DIR/serving/)')
    model.add_argument('--model', metavar='SAVED_MODEL_DIR',
                       help='a pushed model\'s version folder (holding saved_model.pb), or a serving folder of '
                            'versions (its newest complete one)')
    rows = parser.add_mutually_exclusive_group(required=True)
    rows.add_argument('--csv', metavar='FILE', help='a CSV file with a header row (- for standard input)')
    rows.add_argument('--json', metavar='FILE', help='a JSON lines file, one object per row (- for standard input)')
    rows.add_argument('stdin', nargs='?', choices=['-'], metavar='-',
                      help='read the rows from standard input, in --format')
    parser.add_argument('--format', choices=INPUT_FORMATS, default='csv', dest='input_format',
                        help='the format of rows on standard input (-): csv or json lines (default: csv)')
    parser.add_argument('--output-format', choices=OUTPUT_FORMATS, default='csv',
                        help='csv (a header row, then one row per input row) or jsonl (default: csv)')
    parser.add_argument('--batch-size', type=int, default=DEFAULT_BATCH_SIZE, metavar='N',
                        help=f'rows per call of the model (default: {DEFAULT_BATCH_SIZE})')
    return parser


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """``tke predict``: 0, or 2 for bad input (model, rows), 1 when the model itself fails."""
    out = out or sys.stdout
    err = err or sys.stderr
    # TensorFlow's C++ start-up lines are noise here; predictions go to stdout, errors to stderr.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    if args.csv is not None:
        source, input_format = args.csv, 'csv'
    elif args.json is not None:
        source, input_format = args.json, 'json'
    else:
        source, input_format = '-', args.input_format
    try:
        if args.batch_size < 1:
            raise ValueError(f'--batch-size must be at least 1, got {args.batch_size}')
        model_dir = resolve_model(args.run, args.model)
        description = load_description(model_dir)
        rows = read_rows(source, input_format, description.rules)
        incomplete = check_rows(rows, description.rules)
    except ValueError as e:
        print(f'tke: error: {e}', file=err)
        return EXIT_BAD_INPUT
    print(f'tke predict: {len(rows)} row(s), {description.task} of {description.label_key!r}, model {model_dir}',
          file=err)
    if incomplete:
        print(f'tke predict: {incomplete} of {len(rows)} row(s) have missing cells; the model fills them as in '
              'training', file=err)
    try:
        text = predict_rows(description, rows, args.output_format, args.batch_size)
    except (RuntimeError, ValueError) as e:
        print(f'tke: error: {e}', file=err)
        return EXIT_FAILED
    out.write(text)
    out.flush()
    return 0
