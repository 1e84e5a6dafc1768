"""The fast StatisticsGen writes TFX's StatisticsGen's statistics.

Both executors' ``Do()`` run for real (TFDV on Beam's DirectRunner) on the shipped taxi data
as ExampleGen writes it, and the statistics are compared feature by feature: counts, types,
top values and ranks exactly, sums to the last bits of a float, quantiles within TFDV's
sketch error (they depend on how the rows were batched).
"""

from __future__ import annotations

import json
import sys
from typing import Dict
from unittest import mock

import pytest
import tensorflow_data_validation as tfdv
from tfx import v1 as tfx

# TFX's own StatisticsGen executor, run as the reference, and its TFXIO helpers; no tfx.v1 names.
from tfx.components.statistics_gen import executor as tfx_statistics_gen_executor
from tfx.components.util import tfxio_utils

from tests.conftest import calls_of
from tfx_keras_estimator.components import fast_tfxio
from tfx_keras_estimator.components.fast_statistics_gen import Executor, FastStatisticsGen

# TFX 1.15 and 1.16 (tfx_internals.CHECKED_MODERN): the fast path compared with TFX's executor on both.
pytestmark = pytest.mark.both_stacks


def run(executor_class, examples, out: str) -> tfx.types.standard_artifacts.ExampleStatistics:
    statistics = tfx.types.standard_artifacts.ExampleStatistics()
    statistics.uri = out
    # TFX's Beam executor parses absl flags from sys.argv: keep pytest's out of its way.
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        executor_class(executor_class.Context(beam_pipeline_args=['--direct_running_mode=in_memory'],
                                              tmp_dir=out + '-tmp', unique_id='1')).Do(
            {'examples': [examples]}, {'statistics': [statistics]}, {})
    return statistics


# Beam sources made by the fast reader during each executor's run in the module's fixture.
READS = {}


def test_only_ours_read_through_the_fast_reader(both):
    assert READS['theirs'] == 0 and READS['ours'] >= 1, READS


@pytest.fixture(scope='module')
def both(taxi_examples, tmp_path_factory):
    out = tmp_path_factory.mktemp('statistics')
    with calls_of(fast_tfxio.FastTFExampleRecord, 'BeamSource') as theirs_read:
        theirs = run(tfx_statistics_gen_executor.Executor, taxi_examples, str(out / 'tfx'))
    with calls_of(fast_tfxio.FastTFExampleRecord, 'BeamSource') as ours_read:
        ours = run(Executor, taxi_examples, str(out / 'fast'))
    # The comparison means something only if ours read through the fast reader and TFX's did not.
    READS.update(theirs=len(theirs_read), ours=len(ours_read))
    return theirs, ours


def features(statistics, split: str) -> Dict[str, object]:
    [dataset] = tfdv.load_stats_binary(f'{statistics.uri}/Split-{split}/FeatureStats.pb').datasets
    return dataset, {'.'.join(f.path.step): f for f in dataset.features}


@pytest.mark.parametrize('split', ['train', 'eval'])
def test_the_same_statistics_per_split(both, split):
    theirs, ours = both
    assert json.loads(ours.split_names) == json.loads(theirs.split_names) == ['train', 'eval']
    their_set, their_features = features(theirs, split)
    our_set, our_features = features(ours, split)
    assert our_set.num_examples == their_set.num_examples > 4000
    assert list(our_features) == list(their_features) and len(our_features) == 18
    for name, their in their_features.items():
        our = our_features[name]
        assert our.type == their.type, name
        kind = 'num_stats' if their.HasField('num_stats') else 'string_stats'
        mine, reference = getattr(our, kind), getattr(their, kind)
        assert mine.common_stats.num_missing == reference.common_stats.num_missing, name
        assert mine.common_stats.num_non_missing == reference.common_stats.num_non_missing, name
        assert mine.common_stats.max_num_values == reference.common_stats.max_num_values, name
        if kind == 'string_stats':
            # Exact counts: every value, its count, its rank.
            assert mine == reference, name
            continue
        assert (mine.min, mine.max, mine.num_zeros) == (reference.min, reference.max, reference.num_zeros), name
        assert mine.mean == pytest.approx(reference.mean, rel=1e-9, abs=1e-9), name
        assert mine.std_dev == pytest.approx(reference.std_dev, rel=1e-9, abs=1e-9), name
        spread = (reference.max - reference.min) or 1.0
        for my_histogram, histogram in zip(mine.histograms, reference.histograms, strict=True):
            assert my_histogram.type == histogram.type and len(my_histogram.buckets) == len(histogram.buckets)
            for mine_bucket, bucket in zip(my_histogram.buckets, histogram.buckets, strict=True):
                assert abs(mine_bucket.high_value - bucket.high_value) <= 0.02 * spread, name
            assert sum(b.sample_count for b in my_histogram.buckets) == pytest.approx(
                sum(b.sample_count for b in histogram.buckets)), name
    assert {n for n, f in our_features.items() if f.HasField('string_stats')} == {'company', 'payment_type'}


def test_the_same_anomalies_against_the_recipe_schema(both):
    from tfx_keras_estimator.components.recipes import get_recipe
    from tfx_keras_estimator.pipelines.data import load_schema

    schema = load_schema(get_recipe('taxi').schema_path)
    theirs, ours = both
    for split in ('train', 'eval'):
        found = [tfdv.validate_statistics(tfdv.load_stats_binary(f'{s.uri}/Split-{split}/FeatureStats.pb'), schema)
                 for s in (theirs, ours)]
        assert found[0] == found[1]
        assert tfdv.infer_schema(tfdv.load_stats_binary(f'{ours.uri}/Split-{split}/FeatureStats.pb')) == \
            tfdv.infer_schema(tfdv.load_stats_binary(f'{theirs.uri}/Split-{split}/FeatureStats.pb'))


def test_tfx_reads_as_it_did_after_the_run(both):
    assert tfx_statistics_gen_executor.tfxio_utils is tfxio_utils


def test_component_is_statistics_gen_with_our_executor():
    component = FastStatisticsGen(examples=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples))
    assert isinstance(component, tfx.components.StatisticsGen)
    assert component.executor_spec.executor_class is Executor
    assert component.with_id('StatisticsGen').id == 'StatisticsGen'
