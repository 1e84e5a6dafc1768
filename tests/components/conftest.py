"""Real transform graphs of each recipe, analyzed over shipped rows (no pipeline run)."""

from __future__ import annotations

import pytest

from tests.conftest import csv_rows
from tests.tft_helpers import write_transform_output
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer.model import import_by_path
from tfx_keras_estimator.pipelines.data import load_schema


def _transform_output(recipe_name: str, csv_path, rows: int, tmp_path_factory):
    """The recipe's own preprocessing_fn (by its dotted path) analyzed over the first ``rows`` rows."""
    recipe = get_recipe(recipe_name)
    return write_transform_output(import_by_path(recipe.preprocessing_fn), csv_rows(csv_path, rows),
                                  load_schema(recipe.schema_path), str(tmp_path_factory.mktemp(f'{recipe_name}-tft')))


@pytest.fixture(scope='session')
def housing_tft(tmp_path_factory, housing_csv):
    return _transform_output('housing', housing_csv, 200, tmp_path_factory)


@pytest.fixture(scope='session')
def taxi_tft(tmp_path_factory, taxi_csv):
    return _transform_output('taxi', taxi_csv, 300, tmp_path_factory)


@pytest.fixture(scope='session')
def digits_tft(tmp_path_factory, digits_csv):
    return _transform_output('digits', digits_csv, 50, tmp_path_factory)


@pytest.fixture(scope='session')
def text_tft(tmp_path_factory, text_csv):
    return _transform_output('text', text_csv, 200, tmp_path_factory)


@pytest.fixture(scope='session')
def taxi_examples(tmp_path_factory, taxi_csv):
    """The shipped taxi CSV as ExampleGen writes it (train and eval splits of gzipped tf.Examples)."""
    import shutil

    from tests.components.test_fast_example_gen import run
    from tfx_keras_estimator.components.fast_example_gen import Executor

    data = tmp_path_factory.mktemp('taxi-csv')
    shutil.copy(taxi_csv, data / 'chicago_taxi.csv')
    return run(Executor, data, tmp_path_factory.mktemp('taxi-examples'))
