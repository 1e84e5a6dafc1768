"""digits preprocessing_fn: golden output on shipped rows, plus independent checks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import csv_rows
from tests.tft_helpers import analyze_and_transform, check_golden
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.digits import features as F
from tfx_keras_estimator.components.recipes.digits.preprocessing import preprocessing_fn
from tfx_keras_estimator.pipelines.data import load_schema

N_ROWS = 5


@pytest.fixture(scope='module')
def transformed(digits_csv):
    rows = csv_rows(digits_csv, N_ROWS)
    return rows, analyze_and_transform(preprocessing_fn, rows, load_schema(get_recipe('digits').schema_path))


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
def test_matches_golden(transformed):
    check_golden('digits_preprocessing', transformed[1])


def test_only_the_image_and_the_label_come_out(transformed):
    _, out = transformed
    for o in out:
        assert sorted(o) == sorted([F.TRANSFORMED_IMAGE_KEY, F.TRANSFORMED_LABEL_KEY])


def test_image_is_pixels_over_16_in_row_major_order(transformed):
    rows, out = transformed
    for r, o in zip(rows, out, strict=True):
        image = np.asarray(o[F.TRANSFORMED_IMAGE_KEY])
        assert image.shape == (64,)
        # Spelled out here rather than taken from F.PIXEL_KEYS: row by row, left to right.
        expected = np.array([int(r[f'pixel_{row * 8 + col:02d}'])
                             for row in range(8) for col in range(8)]) / 16.0
        np.testing.assert_allclose(image, expected, atol=1e-6)
        assert image.min() >= 0.0 and image.max() <= 1.0


def test_label_passes_through_as_an_integer(transformed):
    rows, out = transformed
    labels = [o[F.TRANSFORMED_LABEL_KEY] for o in out]
    assert labels == [int(r[F.LABEL_KEY]) for r in rows]
    assert all(isinstance(label, int) for label in labels)
