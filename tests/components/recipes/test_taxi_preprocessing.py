"""taxi preprocessing_fn: golden output on shipped rows (with empty cells), plus the label rule."""

from __future__ import annotations

import math

import pytest

from tests.conftest import csv_rows
from tests.tft_helpers import analyze_and_transform, check_golden
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.taxi import features as F
from tfx_keras_estimator.components.recipes.taxi.preprocessing import preprocessing_fn
from tfx_keras_estimator.pipelines.data import load_schema

N_ROWS = 20


@pytest.fixture(scope='module')
def transformed(taxi_csv):
    rows = csv_rows(taxi_csv, N_ROWS)
    # The sample must exercise missing values.
    assert any(r['pickup_latitude'] == '' for r in rows)
    return rows, analyze_and_transform(preprocessing_fn, rows, load_schema(get_recipe('taxi').schema_path))


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
def test_matches_golden(transformed):
    check_golden('taxi_preprocessing', transformed[1])


def test_label_is_big_tipper(transformed):
    rows, out = transformed
    for r, o in zip(rows, out, strict=True):
        fare = float(r['fare']) if r['fare'] else math.nan
        tips = float(r['tips']) if r['tips'] else 0.0
        assert o[F.TRANSFORMED_LABEL_KEY] == int(tips > 0.2 * fare)
    assert {o[F.TRANSFORMED_LABEL_KEY] for o in out} == {0, 1}


def test_missing_values_are_filled_and_ids_in_range(transformed):
    rows, out = transformed
    for r, o in zip(rows, out, strict=True):
        for key, size in F.IDENTITY_FEATURE_SIZES.items():
            value = o[transformed_name(key)]
            assert 0 <= value < size
            if r[key] == '':
                assert value == 0
        for key in F.BUCKET_FEATURE_KEYS:
            assert 0 <= o[transformed_name(key)] < F.BUCKET_COUNT
        for key in F.NUMERIC_FEATURE_KEYS:
            assert math.isfinite(o[transformed_name(key)])
