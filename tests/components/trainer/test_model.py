"""Model building, the input-name mapping and compile rules of the Trainer."""

from __future__ import annotations

import pytest
import tensorflow as tf

from tfx_keras_estimator.components.trainer.model import (
    auc_metric,
    auc_thresholds,
    build_model,
    check_model_inputs,
    compile_model,
    import_by_path,
    make_optimizer,
)


def _model(*names):
    inputs = {n: tf.keras.Input(shape=(), name=n) for n in names}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))


def test_matching_inputs_pass():
    assert check_model_inputs(_model('a_xf', 'b_xf'), ['a_xf', 'b_xf', 'y_xf'], 'y_xf') == ['a_xf', 'b_xf']


def test_mismatch_lists_model_inputs_and_features():
    with pytest.raises(ValueError) as e:
        check_model_inputs(_model('a_xf', 'typo'), ['a_xf', 'b_xf', 'y_xf'], 'y_xf')
    message = str(e.value)
    assert "['typo']" in message and "['a_xf', 'typo']" in message and "['a_xf', 'b_xf']" in message


def test_label_as_input_is_refused():
    with pytest.raises(ValueError, match='label'):
        check_model_inputs(_model('a_xf', 'y_xf'), ['a_xf', 'y_xf'], 'y_xf')


def test_compile_uses_legacy_optimizer_with_its_settings():
    model = compile_model(_model('a'), 'regression', {'optimizer': 'Ftrl', 'learning_rate': 0.02})
    assert isinstance(model.optimizer, tf.keras.optimizers.legacy.Ftrl)
    assert model.optimizer.get_config()['learning_rate'] == pytest.approx(0.02)


def test_builder_compiled_with_new_optimizer_is_refused():
    model = _model('a')
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss='mse')
    with pytest.raises(ValueError, match='legacy'):
        compile_model(model, 'regression', {})


def test_builder_compiled_with_legacy_optimizer_is_kept():
    model = _model('a')
    optimizer = tf.keras.optimizers.legacy.SGD(0.5)
    model.compile(optimizer=optimizer, loss='mae')
    assert compile_model(model, 'regression', {'optimizer': 'Adam'}).optimizer is optimizer


def test_unknown_optimizer_and_bad_paths():
    with pytest.raises(ValueError, match='unknown optimizer'):
        make_optimizer('Lion', 0.1)
    with pytest.raises(ValueError, match='cannot import module'):
        import_by_path('no_such_package.module.build')
    with pytest.raises(ValueError, match='has no attribute'):
        import_by_path('tfx_keras_estimator.components.recipes.housing.model.no_such_builder')
    with pytest.raises(ValueError, match='not a tf.keras.Model'):
        build_model(lambda tft_output, hparams: 'not a model', None, {})


def _exact_auc(labels, scores):
    # The Mann-Whitney statistic: the share of (positive, negative) pairs ranked right, ties half.
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (len(pos) * len(neg))


def test_auc_stays_exact_when_the_model_is_sure():
    # Predictions of both classes crowd within 0.005 of 0, where Keras's default 200 even
    # thresholds put them all in one bucket and cannot rank them.
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    logits = np.where(labels == 1, 2.0, -8.0) + rng.normal(0, 4, 2000)
    scores = (1 / (1 + np.exp(-logits))).astype(np.float32)
    exact = _exact_auc(labels, scores)
    ours, default = auc_metric(), tf.keras.metrics.AUC()
    for metric in (ours, default):
        metric.update_state(labels, scores)
    assert abs(float(ours.result()) - exact) < 1e-3
    assert abs(float(default.result()) - exact) > 5e-3, 'the case must be one the default gets wrong'
    assert len(auc_thresholds()) == 999 and auc_thresholds() == sorted(auc_thresholds())


def test_auc_counts_each_prediction_against_the_log_odds_thresholds():
    # LogOddsAUC buckets predictions on the log-odds scale instead of comparing each with every
    # threshold: its counts must be those of the comparison made exactly (in float64), the
    # extremes included, and survive the clone model_to_estimator makes of it.
    import numpy as np

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 20000)
    logits = np.where(labels == 1, 2.0, -3.0) + rng.normal(0, 8, 20000)
    scores = (1 / (1 + np.exp(-logits))).astype(np.float32)
    scores[:4] = [0.0, 1.0, 0.5, 1e-30]
    metric = type(auc_metric()).from_config(auc_metric().get_config())
    metric.update_state(labels, scores)
    log_odds = np.log(scores.astype(np.float64)) - np.log1p(-scores.astype(np.float64))
    thresholds = np.log(np.array(auc_thresholds())) - np.log1p(-np.array(auc_thresholds()))
    positive = labels == 1
    exact = np.array([(log_odds[positive] > t).sum() for t in thresholds])
    # Keras's end thresholds (below 0, above 1) around ours; a value within float noise of a
    # threshold may fall on either side.
    counted = metric.true_positives.numpy()
    assert counted[0] == positive.sum() and counted[-1] == 0
    assert np.abs(counted[1:-1] - exact).max() <= 1
    assert metric.num_thresholds == len(auc_thresholds()) + 2
