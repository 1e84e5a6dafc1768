"""The generic preprocessing_fn on a mixed table (ints, floats, strings, empty cells, 'NA' tokens),
as `tke init` configures it: golden output plus the rules checked value by value."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from tests.conftest import csv_rows
from tests.init_tables import mixed_taxi_csv
from tests.tft_helpers import analyze_and_transform, assert_rows_close, check_golden
from tfx_keras_estimator.components.recipes import load_recipe
from tfx_keras_estimator.components.recipes.generic.preprocessing import preprocessing_fn
from tfx_keras_estimator.components.recipes.generic.roles import Roles, transformed
from tfx_keras_estimator.pipelines.app import init
from tfx_keras_estimator.pipelines.data import load_schema

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
    return analyze_and_transform(fn, rows, schema, recipe.missing_tokens)


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
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


def test_crosses_give_one_id_per_combination(generated, transformed_rows):
    """A categorical column crossed with a numeric one's quantile bucket; missing is a value of its own."""
    recipe, schema, rows = generated
    config = recipe.transform_custom_config()
    roles = Roles.from_config(config)
    assert roles.crosses == (), 'tke init names no cross'
    assert 'pickup_latitude' in roles.optional
    config['crosses'] = [['company', 'pickup_latitude']]
    out = analyze_and_transform(functools.partial(preprocessing_fn, custom_config=config), rows, schema,
                                recipe.missing_tokens)
    cross = transformed('company_x_pickup_latitude')
    # Each id is one (company, latitude bucket) pair: one company per id; along a company's
    # latitudes each id holds one unbroken range (a bucket), at most `buckets` of them; a
    # missing latitude is an id of its own.
    owners, missing, by_company = {}, {}, {}
    for r, o in zip(rows, out, strict=True):
        company = r['company'] or '__missing__'
        owners.setdefault(o[cross], set()).add(company)
        if r['pickup_latitude']:
            by_company.setdefault(company, []).append((float(r['pickup_latitude']), o[cross]))
        else:
            missing.setdefault(company, set()).add(o[cross])
    assert all(len(c) == 1 for c in owners.values()), 'an id per company'
    assert missing and all(len(v) == 1 for v in missing.values())
    runs = 0
    for company, pairs in by_company.items():
        ids = [i for _, i in sorted(pairs)]
        starts = [i for n, i in enumerate(ids) if n == 0 or ids[n - 1] != i]
        assert len(starts) == len(set(starts)), f'{company}: an id in two latitude ranges'
        assert len(starts) <= roles.buckets and not set(starts) & missing.get(company, set())
        runs += len(starts)
    assert runs > len(by_company), 'the latitude splits companies'
    # The rest is as without the cross (the module's run of the same rows).
    assert_rows_close([{k: v for k, v in o.items() if k != cross} for o in out], transformed_rows)


def test_bad_crosses_are_named():
    base = {'numeric': ['a'], 'categorical': ['c']}
    with pytest.raises(ValueError, match=r"\['z'\] in \['a', 'z'\] are not numeric or categorical"):
        Roles.from_config({**base, 'crosses': [['a', 'z']]})
    with pytest.raises(ValueError, match='two or more different columns'):
        Roles.from_config({**base, 'crosses': [['a']]})
    with pytest.raises(ValueError, match='two or more different columns'):
        Roles.from_config({**base, 'crosses': ['a']})
    with pytest.raises(ValueError, match='set buckets above 0'):
        Roles.from_config({**base, 'buckets': 0, 'crosses': [['a', 'c']]})
    with pytest.raises(ValueError, match=r"\['a_x_c'\] named twice"):
        Roles.from_config({**base, 'crosses': [['a', 'c'], ['a', 'c']]})
    roles = Roles.from_config({**base, 'crosses': [['a', 'c']]})
    assert roles.crosses == (('a', 'c'),) and roles.to_config()['crosses'] == [['a', 'c']]


def test_bad_roles_are_named():
    with pytest.raises(ValueError, match=r"unknown \[transform\] keys \['numerc'\]"):
        Roles.from_config({'numerc': ['a']})
    with pytest.raises(ValueError, match=r"columns \['b'\] are not numeric"):
        Roles.from_config({'numeric': ['a'], 'log': ['b']})
    with pytest.raises(ValueError, match='names no numeric and no categorical column'):
        Roles.from_config({})
