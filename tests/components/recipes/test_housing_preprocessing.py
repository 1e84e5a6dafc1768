"""housing preprocessing_fn: golden output on shipped rows, plus independent checks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import csv_rows
from tests.tft_helpers import analyze_and_transform, check_golden
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F
from tfx_keras_estimator.components.recipes.housing.preprocessing import preprocessing_fn
from tfx_keras_estimator.pipelines.data import load_schema

N_ROWS = 12


@pytest.fixture(scope='module')
def transformed(housing_csv):
    rows = csv_rows(housing_csv, N_ROWS)
    return rows, analyze_and_transform(preprocessing_fn, rows, load_schema(get_recipe('housing').schema_path))


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
def test_matches_golden(transformed):
    check_golden('housing_preprocessing', transformed[1])


def test_numeric_features_are_z_scores(transformed):
    rows, out = transformed
    for key in F.NUMERIC_FEATURE_KEYS:
        raw = np.array([float(r[key]) for r in rows])
        if key in F.LOG_FEATURE_KEYS:
            raw = np.log1p(raw)
        expected = (raw - raw.mean()) / raw.std() if raw.std() > 0 else raw - raw.mean()
        got = np.array([o[transformed_name(key)] for o in out])
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3, err_msg=key)


def test_categoricals_map_to_vocabulary_ids(transformed):
    rows, out = transformed
    for key in F.CATEGORICAL_FEATURE_KEYS:
        ids = {}
        for r, o in zip(rows, out, strict=True):
            ids.setdefault(r[key], set()).add(o[transformed_name(key)])
        # One id per distinct value, distinct values get distinct ids.
        assert all(len(v) == 1 for v in ids.values()), ids
        assert len({next(iter(v)) for v in ids.values()}) == len(ids)
        # The most frequent value comes first in a TFT vocabulary.
        counts = {value: sum(r[key] == value for r in rows) for value in ids}
        assert ids[max(counts, key=counts.get)] == {0}


def test_cross_and_label(transformed):
    rows, out = transformed
    for r, o in zip(rows, out, strict=True):
        assert 0 <= o[F.TRANSFORMED_CROSS_KEY] < F.CROSS_HASH_BUCKETS
        assert o[F.TRANSFORMED_LABEL_KEY] == pytest.approx(float(r[F.LABEL_KEY]), abs=1e-4)
    # Rows with equal (rm, lstat) buckets share a cross id; the cross is not constant.
    assert len({o[F.TRANSFORMED_CROSS_KEY] for o in out}) > 1
