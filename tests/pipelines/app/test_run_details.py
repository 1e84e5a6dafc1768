"""Reading a run's artifacts with the libraries that wrote them: TFDV statistics and anomalies,
event files (TF1 scalars and TF2 tensors), the Keras fit history, SavedModel signatures.

TFMA's evaluation is read from a real run in tests/e2e/test_report.py.
"""

from __future__ import annotations

import csv
import json

import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR, FIT_SUMMARY_FILE, KERAS_SUBDIR
from tfx_keras_estimator.pipelines.app.run_details import (
    Threshold,
    read_anomalies,
    read_statistics,
    signatures,
    slice_name,
    stack_versions,
    training_curves,
)


@pytest.fixture(scope='module')
def statistics(tmp_path_factory):
    """StatisticsGen's layout (Split-<name>/FeatureStats.pb) over a small mixed CSV."""
    work = tmp_path_factory.mktemp('stats')
    data = work / 'rows.csv'
    with data.open('w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['size', 'rooms', 'colour'])
        for i in range(200):
            writer.writerow([f'{i * 1.5}', '' if i % 4 == 0 else str(i % 5), 'red' if i % 3 else 'blue'])
    stats = tfdv.generate_statistics_from_csv(str(data))
    for split in ('train', 'eval'):
        (work / 'stats' / f'Split-{split}').mkdir(parents=True)
        (work / 'stats' / f'Split-{split}' / 'FeatureStats.pb').write_bytes(stats.SerializeToString())
    return work / 'stats', stats


def test_statistics_per_feature(statistics):
    uri, _ = statistics
    splits = read_statistics(str(uri))
    assert [s.split for s in splits] == ['train', 'eval']
    features = {f.name: f for f in splits[0].features}
    assert splits[0].examples == 200
    size, rooms, colour = features['size'], features['rooms'], features['colour']
    assert size.kind == 'FLOAT' and size.min == 0 and size.max == pytest.approx(298.5) and size.missing == 0
    assert sum(b[2] for b in size.histogram) == pytest.approx(200)
    assert rooms.kind == 'INT' and rooms.missing == pytest.approx(0.25) and rooms.count == 150
    assert colour.kind == 'STRING' and colour.unique == 2 and colour.top[0] == ('red', 133)


def test_anomalies_in_words(statistics, tmp_path):
    _, stats = statistics
    schema = tfdv.infer_schema(stats)
    tfdv.get_domain(schema, 'colour').value.remove('blue')
    anomalies = tfdv.validate_statistics(stats, schema)
    (tmp_path / 'Split-eval').mkdir()
    (tmp_path / 'Split-eval' / 'SchemaDiff.pb').write_bytes(anomalies.SerializeToString())
    (tmp_path / 'Split-train').mkdir()
    (tmp_path / 'Split-train' / 'SchemaDiff.pb').write_bytes(type(anomalies)().SerializeToString())
    found = read_anomalies(str(tmp_path))
    assert len(found) == 1
    assert found[0].split == 'eval' and found[0].feature == 'colour' and found[0].severity == 'ERROR'
    assert 'blue' in found[0].description


def test_curves_from_estimator_event_files_train_and_eval_on_one_metric(tmp_path):
    estimator = tmp_path / ESTIMATOR_SUBDIR
    for folder, tags in ((estimator, {'loss_1': 1.0, 'global_step/sec': 50.0}),
                         (estimator / 'eval', {'loss': 2.0, 'rmse': 3.0})):
        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default():
            for step in (100, 200):
                for tag, value in tags.items():
                    tf.summary.scalar(tag, value / step * 100, step=step)
        writer.close()
    curves = {c.metric: c for c in training_curves(str(tmp_path))}
    assert list(curves) == ['loss', 'rmse'], 'train loss_1 and eval loss are one curve; steps/sec is no metric'
    assert curves['loss'].train == [(100, 1.0), (200, 0.5)] and curves['loss'].eval == [(100, 2.0), (200, 1.0)]
    assert curves['rmse'].train == [] and curves['rmse'].x_label == 'global step'


def test_curves_of_a_keras_fit_are_per_epoch(tmp_path):
    (tmp_path / KERAS_SUBDIR).mkdir()
    history = {'loss': [3.0, 2.0, 1.5], 'val_loss': [3.5, 2.5, float('nan')], 'rmse': [1.0, 0.9, 0.8]}
    (tmp_path / KERAS_SUBDIR / FIT_SUMMARY_FILE).write_text(json.dumps({'history': history}))
    curves = {c.metric: c for c in training_curves(str(tmp_path))}
    assert curves['loss'].train == [(1, 3.0), (2, 2.0), (3, 1.5)]
    assert curves['loss'].eval == [(1, 3.5), (2, 2.5)], 'a NaN epoch is left out'
    assert curves['loss'].x_label == 'epoch'


def test_signatures_without_loading_the_model(tmp_path):
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.serve = tf.function(
        lambda examples: {'prediction': tf.cast(tf.strings.length(examples), tf.float32)[:, None] * module.scale},
        input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path), signatures={'serving_default': module.serve})
    found = signatures(str(tmp_path))
    assert [s.name for s in found] == ['serving_default']
    assert [(t.name, t.dtype, t.shape) for t in found[0].inputs] == [('examples', 'string', '[None]')]
    assert [(t.name, t.dtype, t.shape) for t in found[0].outputs] == [('prediction', 'float32', '[None, 1]')]


def test_slices_thresholds_and_versions_read_as_words():
    assert slice_name(()) == 'Overall'
    assert slice_name((('payment_type', b'Cash'), ('hour', 3))) == 'payment_type = Cash, hour = 3'
    assert Threshold('rmse', upper_bound=8.0, change=0.5, higher_is_better=False).describe() == (
        'rmse <= 8, and at most 0.5 higher than the baseline model')
    assert Threshold('auc', lower_bound=0.7, change=-0.01, higher_is_better=True).describe() == (
        'auc >= 0.7, and at most 0.01 lower than the baseline model')
    versions = stack_versions()
    assert versions['tfx'] == '1.15.1' and versions['tensorflow'] == '2.15.1'
