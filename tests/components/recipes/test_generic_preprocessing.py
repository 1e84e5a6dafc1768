"""The generic preprocessing_fn on a mixed table (ints, floats, strings, empty cells, 'NA' tokens),
as `tke init` configures it: golden output plus the rules checked value by value."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from components.recipes import load_recipe
from components.recipes.generic.preprocessing import preprocessing_fn
from components.recipes.generic.roles import Roles, transformed
from pipelines import init
from pipelines.data import load_schema
from tests.conftest import csv_rows
from tests.init_tables import mixed_taxi_csv
from tests.tft_helpers import analyze_and_transform, check_golden

N_ROWS = 60


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    work = tmp_path_factory.mktemp('generic')
    csv_path = mixed_taxi_csv(work / 'trips.csv', rows=600)
    folder = init.write_recipe(init.infer(csv_path, 'payment_type'), work / 'trips_recipe', 'trips')
    return load_recipe(str(folder)), load_schema(folder / 'schema.pbtxt'), csv_rows(csv_path, N_ROWS)


@pytest.fixture(scope='module')
def transformed_rows(generated):
    recipe, schema, rows = generated
    fn = functools.partial(preprocessing_fn, custom_config=recipe.transform_custom_config())
    return analyze_and_transform(fn, rows, schema)


def test_matches_golden(transformed_rows):
    check_golden('generic_preprocessing', transformed_rows[:6])


def test_missing_numbers_are_flagged_and_filled_with_the_mean(generated, transformed_rows):
    recipe, _, rows = generated
    assert any(r['trip_miles'] == 'NA' for r in rows) and any(r['pickup_latitude'] == '' for r in rows)
    roles = Roles.from_config(recipe.transform_config)
    for key in ('trip_miles', 'fare', 'pickup_latitude'):
        assert key in roles.optional
        missing = [r[key] in ('', 'NA', 'N/A') for r in rows]
        flags = [o[transformed(f'{key}_missing')] for o in transformed_rows]
        assert flags == [1.0 if m else 0.0 for m in missing], key
        # Filled with the mean of the present values: exactly the mean, z-scored to 0.
        for m, o in zip(missing, transformed_rows, strict=True):
            if m:
                assert o[transformed(key)] == pytest.approx(0.0, abs=1e-5), key
    # Always present: no indicator.
    assert transformed('trip_start_hour_missing') not in transformed_rows[0]


def test_numbers_are_z_scored_after_log1p_where_skewed(generated, transformed_rows):
    recipe, _, rows = generated
    roles = Roles.from_config(recipe.transform_config)
    key = 'trip_seconds'
    assert key in roles.log
    values = np.log1p([max(float(r[key]), 0.0) for r in rows])
    expected = (values - values.mean()) / values.std()
    np.testing.assert_allclose([o[transformed(key)] for o in transformed_rows], expected, rtol=1e-4, atol=1e-4)
    hours = np.array([float(r['trip_start_hour']) for r in rows])
    np.testing.assert_allclose([o[transformed('trip_start_hour')] for o in transformed_rows],
                               (hours - hours.mean()) / hours.std(), rtol=1e-4, atol=1e-4)
    buckets = {o[transformed('trip_start_hour_bucket')] for o in transformed_rows}
    assert buckets <= set(range(roles.buckets)) and len(buckets) > 3


def test_categories_and_the_label(generated, transformed_rows):
    recipe, _, rows = generated
    ids = {}
    for r, o in zip(rows, transformed_rows, strict=True):
        ids.setdefault(r['company'] or '__missing__', set()).add(o[transformed('company')])
        assert o[recipe.transformed_label_key] == recipe.class_labels.index(r['payment_type'])
    assert all(len(v) == 1 for v in ids.values()), 'one id per company, missing its own'
    assert len({next(iter(v)) for v in ids.values()}) == len(ids)
    assert '__missing__' in ids
    assert all(math.isfinite(v) for o in transformed_rows for v in np.ravel(list(o.values())))


def test_bad_roles_are_named():
    with pytest.raises(ValueError, match=r"unknown \[transform\] keys \['numerc'\]"):
        Roles.from_config({'numerc': ['a']})
    with pytest.raises(ValueError, match=r"columns \['b'\] are not numeric"):
        Roles.from_config({'numeric': ['a'], 'log': ['b']})
    with pytest.raises(ValueError, match='names no numeric and no categorical column'):
        Roles.from_config({})
