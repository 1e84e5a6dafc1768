"""The text pipeline through the real ``tke run``, on a few hundred shipped rows.

Checks the wiring, not the quality (a few steps on 400 rows; the README gives
the full-data figures): the text recipe, its gate's bound lowered to what 60 steps
reach (``TEXT_AT_60_STEPS``: named by dotted path, as a user names a Recipe object),
is blessed and pushed, the pushed serving model answers raw descriptions with
20 section probabilities on both signatures, and ``package`` reaches neither
the transformed features nor the model.
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from tests.conftest import csv_rows, run_tke
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.text import features as F
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

N_ROWS = 400
N_EXAMPLES = 4
# The built-in recipe as it is but for its gate: accuracy at least 0.1 (twice chance among 20
# sections), which 60 steps on 400 rows reach; the shipped bound (0.8) needs the full data.
LOW_BAR = 0.1


@pytest.fixture(scope='module')
def text_run(tmp_path_factory, text_csv):
    data_dir = tmp_path_factory.mktemp('text-data')
    rows = csv_rows(text_csv, N_ROWS)
    with (data_dir / 'part.csv').open('w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run_dir = tmp_path_factory.mktemp('text-run')
    module_dir = tmp_path_factory.mktemp('text-recipe')
    (module_dir / 'text_at_60_steps.py').write_text(textwrap.dedent(f'''
        import dataclasses
        from tfx_keras_estimator.components.recipes import get_recipe
        _TEXT = get_recipe('text')
        TEXT_AT_60_STEPS = dataclasses.replace(_TEXT, gate=dataclasses.replace(_TEXT.gate, bound={LOW_BAR}))
        '''))
    result = run_tke('run', '--recipe', 'text_at_60_steps:TEXT_AT_60_STEPS', '--data', str(data_dir),
                     '--output', str(run_dir), '--train-steps', '60', '--eval-steps', '3',
                     extra_pythonpath=str(module_dir))
    if result.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'text pipeline failed:\n{result.stdout}\n{result.stderr}\n--- log tail ---\n{log}')
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-text')
    assert report is not None and report.model_uri
    return run_dir, report


def test_the_model_was_evaluated_blessed_and_pushed(text_run):
    _, report = text_run
    for node in ('Transform', 'Trainer', 'Evaluator', 'Pusher'):
        assert report.state_of(node) == 'complete', (node, report.components)
    assert report.metrics['example_count'] > 0
    # 60 steps on 400 rows: better than twice chance among 20 classes, which the lowered gate asks.
    assert report.metrics['accuracy'] >= LOW_BAR, report.metrics
    assert report.blessed is True and report.pushed is True
    assert Path(report.pushed_model, 'saved_model.pb').is_file()


def test_package_is_no_transformed_feature(text_run):
    run_dir, _ = text_run
    (graph_dir,) = (run_dir / 'pipeline' / 'Transform' / 'transform_graph').iterdir()
    spec = tft.TFTransformOutput(str(graph_dir)).transformed_feature_spec()
    assert set(spec) == {F.TRANSFORMED_WORD_IDS_KEY, F.TRANSFORMED_LABEL_KEY}


@pytest.fixture(scope='module')
def served(text_run):
    _, report = text_run
    return tf.saved_model.load(report.pushed_model)  # what a client gets: the pushed model


def _serialized(rows, drop):
    schema = load_schema(get_recipe('text').schema_path)
    return tf.constant(examples_from_rows(rows, schema, drop=drop))


def test_serves_a_raw_description_with_20_probabilities_on_both_signatures(served, text_csv):
    recipe = get_recipe('text')
    assert {'serving_default', 'classification'} <= set(served.signatures)
    rows = csv_rows(text_csv, N_EXAMPLES)
    # Only the description goes in: no package, no section.
    serialized = _serialized(rows, drop=[F.PACKAGE_KEY, F.LABEL_KEY])

    probabilities = served.signatures['serving_default'](examples=serialized)[recipe.prediction_key].numpy()
    assert probabilities.shape == (N_EXAMPLES, 20)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    classify = served.signatures['classification'](inputs=serialized)
    classes = classify['classes'].numpy()
    assert classes.shape == (N_EXAMPLES, 20)
    assert all([c.decode() for c in row] == list(F.CLASS_LABELS) for row in classes)
    np.testing.assert_allclose(classify['scores'].numpy(), probabilities, rtol=1e-5)


def test_answers_a_batch_with_a_tenth_of_its_cells_left_out(served, text_csv):
    """Rows without a description (or a package) are answered: an empty text, no words."""
    recipe = get_recipe('text')
    rows = with_blanks(csv_rows(text_csv, 20), keep=[F.LABEL_KEY])
    assert any(r[F.DESCRIPTION_KEY] == '' for r in rows)
    probabilities = served.signatures['serving_default'](examples=_serialized(rows, drop=[F.LABEL_KEY]))[
        recipe.prediction_key].numpy()
    assert probabilities.shape == (20, 20)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_the_package_name_does_not_change_the_answer(served, text_csv):
    rows = csv_rows(text_csv, N_EXAMPLES)
    without = served.signatures['serving_default'](examples=_serialized(rows, drop=[F.PACKAGE_KEY, F.LABEL_KEY]))
    # Names that would give a section away, were the model reading them.
    misleading = [{**r, F.PACKAGE_KEY: name} for r, name in
                  zip(rows, ['libghc-x-dev', 'golang-x', 'r-cran-x', 'node-x'], strict=True)]
    with_package = served.signatures['serving_default'](examples=_serialized(misleading, drop=[F.LABEL_KEY]))
    np.testing.assert_array_equal(with_package['prediction'].numpy(), without['prediction'].numpy())
