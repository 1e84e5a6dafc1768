"""The mobilenet pipeline through the real ``tke run``: TFRecords of PNGs in, a served model that decodes PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows, run_tke, tfrecord_examples
from tfx_keras_estimator.pipelines.app.report import latest_run

pytestmark = pytest.mark.e2e

N_EXAMPLES = 40
# Enough for the recipe's gate (accuracy >= 0.85) with a margin: at 150 steps a CI run scored 0.837.
TRAIN_STEPS = 300


@pytest.fixture(scope='module')
def mobilenet_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('mobilenet-run')
    result = run_tke('run', '--recipe', 'mobilenet', '--output', str(run_dir),
                     '--train-steps', str(TRAIN_STEPS), '--eval-steps', '3')
    if result.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'mobilenet pipeline failed:\n{result.stdout}\n{result.stderr}\n--- log tail ---\n{log}')
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-mobilenet')
    return result, report


@pytest.fixture(scope='module')
def served(mobilenet_run):
    report = mobilenet_run[1]
    assert report is not None and report.pushed_model, 'nothing was pushed'
    return tf.saved_model.load(report.pushed_model)


def _client_examples(records):
    """What a client sends: the PNG bytes only, no label."""
    out = []
    for record in records:
        example = tf.train.Example.FromString(record)
        del example.features.feature['label']
        out.append(example.SerializeToString())
    return out


def test_tfrecords_go_through_import_example_gen_and_the_model_is_pushed(mobilenet_run):
    result, report = mobilenet_run
    assert 'ImportExampleGen' in result.stdout and 'CsvExampleGen' not in result.stdout
    assert '(1 file(s), 1797 rows)' in result.stdout
    assert report is not None and report.blessed is True and report.pushed is True and report.pushed_model
    assert report.metrics['example_count'] > 500  # the eval third of 1,797 images


def test_served_model_answers_png_examples_on_both_signatures(served, mobilenet_tfrecord):
    model = served
    assert {'serving_default', 'classification'} <= set(model.signatures)
    records = tfrecord_examples(mobilenet_tfrecord, N_EXAMPLES)
    labels = np.array([tf.train.Example.FromString(r).features.feature['label'].int64_list.value[0]
                       for r in records])
    serialized = tf.constant(_client_examples(records))

    probabilities = model.signatures['serving_default'](examples=serialized)['prediction'].numpy()
    assert probabilities.shape == (N_EXAMPLES, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Far above chance (0.1): the served graph decodes the PNGs as training did.
    assert (probabilities.argmax(axis=1) == labels).mean() >= 0.6

    classify = model.signatures['classification'](inputs=serialized)
    classes = classify['classes'].numpy()
    assert classes.shape == (N_EXAMPLES, 10)
    assert all(list(row) == [str(i).encode() for i in range(10)] for row in classes)
    np.testing.assert_allclose(classify['scores'].numpy(), probabilities, rtol=1e-5)


def test_served_model_answers_a_batch_where_a_tenth_of_the_rows_have_no_image(served, mobilenet_tfrecord):
    """The image is the one feature: a row without it is answered (a blank image), the others as before."""
    records = tfrecord_examples(mobilenet_tfrecord, 20)
    examples = _client_examples(records)
    blank = {3, 11}
    with_gaps = [tf.train.Example().SerializeToString() if i in blank else e for i, e in enumerate(examples)]
    signature = served.signatures['serving_default']
    probabilities = signature(examples=tf.constant(with_gaps))['prediction'].numpy()
    assert probabilities.shape == (20, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    full = signature(examples=tf.constant(examples))['prediction'].numpy()
    rest = [i for i in range(20) if i not in blank]
    np.testing.assert_allclose(probabilities[rest], full[rest], rtol=1e-4, atol=1e-6)


def test_served_model_takes_a_gray_png_of_another_size(served, digits_csv):
    """A client's 8x8 one-channel PNG of a digit: resized and made RGB inside the served graph."""
    model = served
    row = csv_rows(digits_csv, 1)[0]
    pixels = np.array([int(row[f'pixel_{i:02d}']) for i in range(64)], dtype=np.float64)
    png = tf.io.encode_png(np.round(pixels * 255 / 16).astype(np.uint8).reshape(8, 8, 1)).numpy()
    example = tf.train.Example()
    example.features.feature['image'].bytes_list.value.append(png)
    probabilities = model.signatures['serving_default'](
        examples=tf.constant([example.SerializeToString()]))['prediction'].numpy()
    assert probabilities.shape == (1, 10)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
