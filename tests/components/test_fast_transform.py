"""The fast Transform writes TFX's Transform's transform graph.

Both executors' ``Do()`` run for real (TFT on Beam's DirectRunner) with the taxi recipe's
preprocessing_fn on the shipped taxi data as ExampleGen writes it; the vocabularies must be
the same files and both graphs must transform the eval examples to the same values.
"""

from __future__ import annotations

import glob
import os
import sys
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx

# TFX's own Transform executor, run as the reference; no public tfx.v1 name for it.
from tfx.components.transform import executor as tfx_transform_executor

from tests.conftest import calls_of
from tfx_keras_estimator.components import fast_tfxio
from tfx_keras_estimator.components.fast_transform import Executor, FastTransform, TransformProcessor
from tfx_keras_estimator.components.recipes import get_recipe

# TFX 1.15 and 1.16 (tfx_internals.CHECKED_MODERN): the fast path compared with TFX's executor on both.
pytestmark = pytest.mark.both_stacks

ORIGINAL_PROCESSOR = tfx_transform_executor.TransformProcessor


def run(executor_class, examples, schema_dir: str, out: str) -> str:
    schema = tfx.types.standard_artifacts.Schema()
    schema.uri = schema_dir
    graph = tfx.types.standard_artifacts.TransformGraph()
    graph.uri = out
    properties = {'preprocessing_fn': get_recipe('taxi').preprocessing_fn, 'force_tf_compat_v1': 1,
                  'disable_statistics': 1, 'disable_analyzer_cache': 1, 'custom_config': 'null'}
    # TFX's Beam executor parses absl flags from sys.argv: keep pytest's out of its way.
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        executor_class(executor_class.Context(beam_pipeline_args=['--direct_running_mode=in_memory'],
                                              tmp_dir=out + '-tmp', unique_id='1')).Do(
            {'examples': [examples], 'schema': [schema]}, {'transform_graph': [graph]}, properties)
    return out


# Beam sources made by the fast reader during each executor's run in the module's fixture.
READS = {}


def test_only_ours_read_through_the_fast_reader(both):
    assert READS['theirs'] == 0 and READS['ours'] >= 1, READS


@pytest.fixture(scope='module')
def both(taxi_examples, tmp_path_factory):
    schema_dir = tmp_path_factory.mktemp('schema')
    tf.io.gfile.copy(str(get_recipe('taxi').schema_path), str(schema_dir / 'schema.pbtxt'))
    out = tmp_path_factory.mktemp('transform')
    with calls_of(fast_tfxio.FastTFExampleRecord, 'BeamSource') as theirs_read:
        theirs = run(tfx_transform_executor.Executor, taxi_examples, str(schema_dir), str(out / 'tfx'))
    with calls_of(fast_tfxio.FastTFExampleRecord, 'BeamSource') as ours_read:
        ours = run(Executor, taxi_examples, str(schema_dir), str(out / 'fast'))
    # The comparison means something only if ours read through the fast reader and TFX's did not.
    READS.update(theirs=len(theirs_read), ours=len(ours_read))
    return theirs, ours


def test_the_same_vocabularies(both):
    theirs, ours = both
    names = sorted(os.listdir(f'{theirs}/transform_fn/assets'))
    assert names == sorted(os.listdir(f'{ours}/transform_fn/assets')) and len(names) == 4
    for name in names:
        assert tf.io.gfile.GFile(f'{ours}/transform_fn/assets/{name}', 'rb').read() == \
            tf.io.gfile.GFile(f'{theirs}/transform_fn/assets/{name}', 'rb').read(), name


def test_the_same_transformed_eval_examples(both, taxi_examples):
    theirs, ours = (tft.TFTransformOutput(path) for path in both)
    files = sorted(glob.glob(f'{taxi_examples.uri}/Split-eval/*'))
    records = next(iter(tf.data.TFRecordDataset(files, compression_type='GZIP').batch(100000)))
    spec = theirs.raw_feature_spec()
    expected = theirs.transform_features_layer()(tf.io.parse_example(records, spec))
    got = ours.transform_features_layer()(tf.io.parse_example(records, spec))
    assert sorted(got) == sorted(expected) and len(records) > 4000
    for name, values in expected.items():
        if values.dtype.is_floating:
            # Means and variances summed in another order: the last bits of a float.
            np.testing.assert_allclose(got[name].numpy(), values.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(got[name].numpy(), values.numpy(), err_msg=name)


def test_tfx_processor_is_back_after_the_run(both):
    assert tfx_transform_executor.TransformProcessor is ORIGINAL_PROCESSOR is not TransformProcessor


def test_component_is_transform_with_our_executor():
    component = FastTransform(examples=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples),
                              schema=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Schema),
                              preprocessing_fn=get_recipe('taxi').preprocessing_fn)
    assert isinstance(component, tfx.components.Transform)
    assert component.executor_spec.executor_class is Executor
