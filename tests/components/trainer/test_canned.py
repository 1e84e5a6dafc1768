"""The pre-made Estimator baseline: feature columns from each recipe's transform, and a real run_fn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.components.trainer.fn_args import trainer_fn_args
from tests.conftest import csv_rows
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import canned, run_fn
from tfx_keras_estimator.components.trainer.config import CANNED_MODE
from tfx_keras_estimator.pipelines.data import load_schema


@pytest.mark.parametrize('recipe_name', ['housing', 'taxi', 'digits'])
def test_columns_cover_every_transformed_feature_but_the_label(recipe_name, request):
    recipe = get_recipe(recipe_name)
    tft_output = request.getfixturevalue(f'{recipe_name}_tft')
    spec = tft_output.transformed_feature_spec()
    for kind in canned.KINDS:
        columns, keys = canned.feature_columns(tft_output, recipe.transformed_label_key, kind)
        assert sorted(keys) == sorted(k for k in spec if k != recipe.transformed_label_key)
        assert len(columns) == len(keys)
    # Integer features become categorical columns sized by their vocabulary / buckets (+1 for OOV).
    columns, keys = canned.feature_columns(tft_output, recipe.transformed_label_key, canned.LINEAR)
    for column, key in zip(columns, keys, strict=True):
        if spec[key].dtype == tf.int64:
            try:
                expected = tft_output.num_buckets_for_transformed_feature(key) + 1
            except ValueError:  # no range known (a hashed cross): hashed again
                expected = canned.UNKNOWN_RANGE_HASH_BUCKETS
            assert column.num_buckets == expected


def test_unknown_kind_is_refused(housing_tft):
    with pytest.raises(ValueError, match="kind 'forest'"):
        canned.feature_columns(housing_tft, 'medv_xf', 'forest')


def test_canned_run_fn_trains_exports_and_reports_the_keras_metric_names(housing_trainer_inputs, tmp_path,
                                                                         housing_csv):
    recipe = get_recipe('housing')
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path, 200, recipe.trainer_config(mode=CANNED_MODE))
    run_fn(fn_args)
    model = tf.saved_model.load(fn_args.serving_model_dir)
    serialized = examples_from_rows(csv_rows(housing_csv, 4), load_schema(recipe.schema_path), drop=['medv'])
    out = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy()
    assert out.shape == (4, 1) and np.all(np.isfinite(out))
    assert (Path(fn_args.eval_model_dir) / 'saved_model.pb').exists()
    # A LinearRegressor's own variables, not a Keras model's.
    checkpoint = tf.train.latest_checkpoint(str(Path(fn_args.model_run_dir) / 'estimator'))
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    assert any(name.startswith('linear/linear_model/') for name in names)
