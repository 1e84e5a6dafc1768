"""Real transform graphs of each recipe, analyzed over shipped rows (no pipeline run)."""

from __future__ import annotations

import pytest

from components.recipes import get_recipe
from components.recipes.digits.preprocessing import preprocessing_fn as digits_fn
from components.recipes.housing.preprocessing import preprocessing_fn as housing_fn
from components.recipes.taxi.preprocessing import preprocessing_fn as taxi_fn
from components.recipes.text.preprocessing import preprocessing_fn as text_fn
from pipelines.data import load_schema
from tests.conftest import csv_rows
from tests.tft_helpers import write_transform_output


@pytest.fixture(scope='session')
def housing_tft(tmp_path_factory, housing_csv):
    return write_transform_output(housing_fn, csv_rows(housing_csv, 200),
                                  load_schema(get_recipe('housing').schema_path),
                                  str(tmp_path_factory.mktemp('housing-tft')))


@pytest.fixture(scope='session')
def taxi_tft(tmp_path_factory, taxi_csv):
    return write_transform_output(taxi_fn, csv_rows(taxi_csv, 300),
                                  load_schema(get_recipe('taxi').schema_path),
                                  str(tmp_path_factory.mktemp('taxi-tft')))


@pytest.fixture(scope='session')
def digits_tft(tmp_path_factory, digits_csv):
    return write_transform_output(digits_fn, csv_rows(digits_csv, 50),
                                  load_schema(get_recipe('digits').schema_path),
                                  str(tmp_path_factory.mktemp('digits-tft')))


@pytest.fixture(scope='session')
def text_tft(tmp_path_factory, text_csv):
    return write_transform_output(text_fn, csv_rows(text_csv, 200),
                                  load_schema(get_recipe('text').schema_path),
                                  str(tmp_path_factory.mktemp('text-tft')))
