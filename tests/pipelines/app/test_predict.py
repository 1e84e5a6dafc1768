"""tke predict's pure parts: the model's description, rows checked as the data check does,
tf.Examples typed by the schema, the served outputs as predictions; and a whole predict on a
tiny real SavedModel per task (the housing pipeline's model: tests/e2e/test_predict.py)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from tfx_keras_estimator.components.trainer import export
from tfx_keras_estimator.components.trainer.task import (
    BINARY_CLASSIFICATION,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    TaskSpec,
)
from tfx_keras_estimator.pipelines.app import predict
from tfx_keras_estimator.pipelines.data import DataError

# x: a required float, n: an optional integer, s: an optional string, y: the label.
SCHEMA = text_format.Parse("""
feature { name: "x" type: FLOAT presence { min_fraction: 1.0 min_count: 1 } shape { dim { size: 1 } } }
feature { name: "n" type: INT presence { min_count: 1 } value_count { min: 0 max: 1 } }
feature { name: "s" type: BYTES presence { min_count: 1 } value_count { min: 0 max: 1 } }
feature { name: "y" type: INT presence { min_fraction: 1.0 min_count: 1 } shape { dim { size: 1 } } }
""", schema_pb2.Schema())


def _task(task: str, class_labels=()) -> TaskSpec:
    return TaskSpec(label_key='y', transformed_label_key='y_xf', task=task, class_labels=class_labels)


def _describe(model_dir: Path, task: TaskSpec) -> None:
    """What the Trainer's export writes, through its own functions."""
    metadata = types.SimpleNamespace(raw_metadata=types.SimpleNamespace(schema=SCHEMA))
    export.write_assets_extra(str(model_dir), export.model_description(task, metadata))


class _Model(tf.Module):
    """A served model as tke exports it: serialized raw tf.Examples in under 'examples'."""

    def __init__(self, task: str) -> None:
        super().__init__()
        self.task = task

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
    def serve(self, examples):
        spec = {'x': tf.io.FixedLenFeature([1], tf.float32), 'n': tf.io.VarLenFeature(tf.int64)}
        raw = tf.io.parse_example(examples, spec)
        x = raw['x'] + tf.cast(tf.sparse.to_dense(tf.sparse.reset_shape(raw['n'], [tf.shape(examples)[0], 1])),
                               tf.float32)
        if self.task == REGRESSION:
            return {'prediction': 2.0 * x}
        if self.task == BINARY_CLASSIFICATION:
            return {'prediction': tf.sigmoid(x)}
        return {'prediction': tf.nn.softmax(tf.concat([x, -x, tf.zeros_like(x)], axis=1))}


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """One tiny SavedModel per task, each with its assets.extra."""
    root = tmp_path_factory.mktemp('predict-models')
    specs = {REGRESSION: _task(REGRESSION), BINARY_CLASSIFICATION: _task(BINARY_CLASSIFICATION, ('no', 'yes')),
             MULTICLASS_CLASSIFICATION: _task(MULTICLASS_CLASSIFICATION, ('a', 'b', 'c'))}
    out = {}
    for task, spec in specs.items():
        module = _Model(task)
        model_dir = root / task / 'serving' / '100'
        tf.saved_model.save(module, str(model_dir), signatures={'serving_default': module.serve})
        _describe(model_dir, spec)
        out[task] = model_dir
    return out


def _rules():
    return predict.ModelDescription(Path('m'), REGRESSION, 'y', (), 'prediction', 'examples', 'serving_default',
                                    SCHEMA).rules


def _csv(text: str):
    return predict.read_csv_rows(io.StringIO(text), 'rows.csv', _rules())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tke')
    predict.add_subcommand(parser.add_subparsers(dest='command'))
    return parser


def _run(*argv: str, stdin: str | None = None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr('sys.stdin', io.StringIO(stdin))
    code = predict.run(_parser().parse_args(['predict', *argv]), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_exported_description_reads_back(tmp_path):
    assert (predict.ASSETS_EXTRA_DIR, predict.MODEL_DESCRIPTION_FILE, predict.MODEL_DESCRIPTION_VERSION) == (
        export.ASSETS_EXTRA_DIR, export.MODEL_DESCRIPTION_FILE, export.MODEL_DESCRIPTION_VERSION)
    _describe(tmp_path, _task(BINARY_CLASSIFICATION, ('no', 'yes')))
    description = predict.load_description(tmp_path)
    assert (description.task, description.label_key, description.class_labels, description.prediction_key,
            description.input_key, description.signature) == (
        BINARY_CLASSIFICATION, 'y', ('no', 'yes'), 'prediction', 'examples', 'serving_default')
    assert description.schema == SCHEMA
    # The label is not asked of a client.
    assert description.rules == {'x': (schema_pb2.FLOAT, True), 'n': (schema_pb2.INT, False),
                                 's': (schema_pb2.BYTES, False)}


def test_a_model_without_description_names_the_folder_and_the_way_out(tmp_path):
    with pytest.raises(ValueError, match=r'assets\.extra/tke_model\.json.*--run of that newer run'):
        predict.load_description(tmp_path)


def test_run_dir_resolves_to_the_newest_complete_version(models, tmp_path):
    run_dir = tmp_path / 'run'
    complete = run_dir / 'serving' / '5'
    shutil.copytree(models[REGRESSION], complete)
    shutil.copytree(models[REGRESSION], run_dir / 'serving' / '3')
    (run_dir / 'serving' / '9').mkdir()  # an interrupted push: no saved_model.pb
    assert predict.resolve_model(run_dir=run_dir) == complete
    assert predict.resolve_model(model=run_dir / 'serving') == complete
    assert predict.resolve_model(model=complete) == complete
    with pytest.raises(ValueError, match=r'no saved_model\.pb'):
        predict.resolve_model(model=run_dir / 'serving' / '9')


def test_run_dir_without_a_complete_model_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='does not exist'):
        predict.resolve_model(run_dir=tmp_path / 'nowhere')
    with pytest.raises(ValueError, match='has no pushed model'):
        predict.resolve_model(run_dir=tmp_path)
    (tmp_path / 'serving' / '7').mkdir(parents=True)
    with pytest.raises(ValueError, match='none of the 1 version folder'):
        predict.resolve_model(run_dir=tmp_path)


@pytest.mark.parametrize(('text', 'message'), [
    ('x,n\n1.5,2\nabc,2\n', r"rows\.csv, row 3, column 'x': 'abc' is not a number"),
    ('x,n\n1.5,2.5\n', r"rows\.csv, row 2, column 'n': '2\.5' is not an integer"),
    ('x,n\ninf,1\n', r"row 2, column 'x': 'inf' is not a finite number"),
    ('x,n\nNA,1\n', r"row 2, column 'x': empty, but the schema requires a value"),
    ('x,n\n1,1\n ,1\n', r"row 3, column 'x': empty, but the schema requires a value"),
    ('x,n\n1,1\n1\n', r'rows\.csv, row 3: 1 fields, the header has 2'),
    ('n,s\n1,a\n', r"rows\.csv: header lacks the required column\(s\) \['x'\]"),
    ('x,n\n', 'no rows to predict'),
    ('', r'rows\.csv: the file is empty \(no header row\)'),
])
def test_bad_csv_rows_name_row_and_column(text, message):
    with pytest.raises(DataError, match=message):
        predict.check_rows(_csv(text), _rules())


@pytest.mark.parametrize(('text', 'message'), [
    ('{"x": 1}\n{"x": null}\n', r"rows\.jsonl, line 2, column 'x': empty"),
    ('{"x": 1}\n\n{"n": 3}\n', r"line 3, column 'x': empty"),
    ('{"x": 1, "n": 1.0}\n', r"line 1, column 'n': '1\.0' is not an integer"),
    ('{"x": true}\n', r"line 1, column 'x': a JSON boolean"),
    ('{"x": [1, 2]}\n', r"line 1, column 'x': a JSON list"),
    ('[1]\n', r'line 1: a JSON list, not an object'),
    ('{"x": 1\n', r'line 1: not JSON'),
])
def test_bad_json_lines_name_line_and_column(text, message):
    with pytest.raises(DataError, match=message):
        predict.check_rows(predict.read_json_rows(io.StringIO(text), 'rows.jsonl', _rules()), _rules())


def test_examples_are_typed_by_the_schema_without_label_unknown_or_empty_cells():
    rows = _csv('id,y,x,n,s\nr1,bad label,1.5, 7 ,a b\nr2,,2,,\n')
    predict.check_rows(rows, _rules())  # the label's bad value and the unknown id column are not checked
    first, second = (tf.train.Example.FromString(e) for e in predict.to_examples(rows, SCHEMA, _rules()))
    features = first.features.feature
    assert sorted(features) == ['n', 's', 'x']
    assert list(features['x'].float_list.value) == [1.5]
    assert list(features['n'].int64_list.value) == [7]
    assert list(features['s'].bytes_list.value) == [b'a b']
    assert sorted(second.features.feature) == ['x']


def test_missing_cells_are_counted_and_left_out_of_the_examples():
    """Tokens in a number column are missing values (the served model fills them); in a text column
    a value. x is strict (a shape in the schema): it must be there; n and s may be missing."""
    rules = _rules()
    assert rules['x'] == (schema_pb2.FLOAT, True) and rules['n'] == (schema_pb2.INT, False)
    rows = _csv('x,n,s\n1.5,NA,NA\n2, ,a\n3,4,b\n2.5,?,\n')
    assert predict.check_rows(rows, rules) == 3
    examples = [tf.train.Example.FromString(e) for e in predict.to_examples(rows, SCHEMA, rules)]
    assert [sorted(e.features.feature) for e in examples] == [['s', 'x'], ['s', 'x'], ['n', 's', 'x'], ['x']]
    assert list(examples[0].features.feature['s'].bytes_list.value) == [b'NA']


def test_json_lines_give_the_same_examples_as_csv():
    from_csv = _csv('x,n,s\n1.5,7,a\n2,,\n')
    from_json = predict.read_json_rows(io.StringIO('{"x": 1.5, "n": 7, "s": "a", "id": [1]}\n{"x": 2, "n": null}\n'),
                                       'rows.jsonl', _rules())
    assert predict.to_examples(from_csv, SCHEMA, _rules()) == predict.to_examples(from_json, SCHEMA, _rules())


def _description(task: str, class_labels=()) -> predict.ModelDescription:
    return predict.ModelDescription(Path('m'), task, 'y', tuple(class_labels), 'prediction', 'examples',
                                    'serving_default', SCHEMA)


def test_predictions_from_each_kind_of_served_output():
    regression = predict.predictions(_description(REGRESSION), {'prediction': np.array([[1.5], [2.0]], np.float32)})
    assert regression == (['prediction'], [[1.5], [2.0]])
    # A sigmoid unit gives P(class_labels[1]).
    columns, rows = predict.predictions(_description(BINARY_CLASSIFICATION, ('no', 'yes')),
                                        {'prediction': np.array([[0.25], [0.75]])})
    assert columns == ['class', 'score_no', 'score_yes'] and rows == [['no', 0.75, 0.25], ['yes', 0.25, 0.75]]
    # A pre-made Estimator's classification signature: scores per class, and its own classes.
    canned = predict.predictions(_description(BINARY_CLASSIFICATION, ('no', 'yes')),
                                 {'scores': np.array([[0.75, 0.25]]), 'classes': np.array([[b'0', b'1']])})
    assert canned == (['class', 'score_no', 'score_yes'], [['no', 0.75, 0.25]])
    assert predict.predictions(_description(REGRESSION), {'outputs': np.array([[3.0]])}) == (['prediction'], [[3.0]])
    # No class labels in the task: '0', '1', ... as the classification signature names them.
    columns, rows = predict.predictions(_description(MULTICLASS_CLASSIFICATION),
                                        {'prediction': np.array([[0.1, 0.7, 0.2]])})
    assert columns == ['class', 'score_0', 'score_1', 'score_2'] and rows == [['1', 0.1, 0.7, 0.2]]
    with pytest.raises(ValueError, match=r"2 class labels \['a', 'b'\] for 3 scores"):
        predict.predictions(_description(MULTICLASS_CLASSIFICATION, ('a', 'b')),
                            {'prediction': np.array([[0.1, 0.7, 0.2]])})
    with pytest.raises(ValueError, match='hold no'):
        predict.predictions(_description(REGRESSION), {'logits': np.array([[1.0]])})


def test_formats_csv_and_json_lines():
    columns, rows = ['class', 'score_no', 'score_yes'], [['no', float(np.float32(0.7)), float(np.float32(0.3))]]
    assert predict.format_predictions(columns, rows, 'csv') == 'class,score_no,score_yes\nno,0.7,0.3\n'
    assert json.loads(predict.format_predictions(columns, rows, 'jsonl')) == {
        'class': 'no', 'score_no': 0.7, 'score_yes': 0.3}


def test_predicts_regression_through_the_served_signature(models, tmp_path):
    rows = tmp_path / 'rows.csv'
    rows.write_text('id,x,n,y\na,1.5,1,0\nb,-2,,0\nc,0.25,2,0\n')
    code, out, err = _run('--model', str(models[REGRESSION]), '--csv', str(rows), '--batch-size', '2')
    assert code == 0, err
    assert list(csv.DictReader(io.StringIO(out))) == [{'prediction': '5.0'}, {'prediction': '-4.0'},
                                                      {'prediction': '4.5'}]
    assert '3 row(s), regression' in err


def test_predicts_binary_classes_with_scores_per_class(models, tmp_path):
    rows = tmp_path / 'rows.jsonl'
    rows.write_text('{"x": 2.0}\n{"x": -1.0, "n": 0}\n')
    code, out, err = _run('--run', str(models[BINARY_CLASSIFICATION].parents[1]), '--json', str(rows),
                          '--output-format', 'jsonl')
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    p = [1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(1.0))]
    assert [line['class'] for line in lines] == ['yes', 'no']
    for line, yes in zip(lines, p, strict=True):
        assert sorted(line) == ['class', 'score_no', 'score_yes']
        assert line['score_yes'] == pytest.approx(yes, rel=1e-5)
        assert line['score_no'] == pytest.approx(1 - yes, rel=1e-5)


def test_predicts_multiclass_from_stdin(models, monkeypatch):
    code, out, err = _run('--model', str(models[MULTICLASS_CLASSIFICATION]), '-', '--format', 'json',
                          stdin='{"x": 1}\n{"x": -1}\n{"x": 0, "n": 0}\n', monkeypatch=monkeypatch)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row['class'] for row in rows] == ['a', 'b', 'a']  # a tie goes to the first class
    assert list(rows[0]) == ['class', 'score_a', 'score_b', 'score_c']
    assert all(sum(float(row[f'score_{c}']) for c in 'abc') == pytest.approx(1, abs=1e-5) for row in rows)


def test_bad_input_exits_2_and_prints_nothing(models, tmp_path, monkeypatch):
    code, out, err = _run('--model', str(models[REGRESSION]), '-', stdin='x,n\n1,1\n2,2\n3,x\n',
                          monkeypatch=monkeypatch)
    assert (code, out) == (2, '')
    assert "<stdin>, row 4, column 'n': 'x' is not an integer" in err
    code, out, err = _run('--run', str(tmp_path), '--csv', str(tmp_path / 'rows.csv'))
    assert (code, out) == (2, '') and 'has no pushed model' in err
    code, out, err = _run('--model', str(models[REGRESSION]), '--csv', str(tmp_path / 'missing.csv'))
    assert (code, out) == (2, '') and 'missing.csv does not exist' in err


def test_command_line_shape():
    parser = _parser()
    with pytest.raises(SystemExit):
        parser.parse_args(['predict', '--csv', 'a.csv'])  # no model
    with pytest.raises(SystemExit):
        parser.parse_args(['predict', '--run', 'r', '--csv', 'a.csv', '--json', 'b.jsonl'])
    with pytest.raises(SystemExit):
        parser.parse_args(['predict', '--run', 'r'])  # no rows
    args = parser.parse_args(['predict', '--run', 'r', '-'])
    assert (args.stdin, args.input_format, args.output_format, args.batch_size) == ('-', 'csv', 'csv', 1024)
