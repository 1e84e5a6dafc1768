"""input_fns: raw examples with the transform graph applied give the batches that
Transform's materialized examples give, in an Estimator's graph and in eager Keras, and the
rows TFX's own Transform executor materializes; the training tasks of a cluster read
different parts of a split, by files or by batches."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx

# TFX's own Transform executor, materializing as a pipeline's Transform does; no tfx.v1 name for it.
from tfx.components.transform import executor as tfx_transform_executor
from tfx.types import artifact_utils

from tests.components.trainer.conftest import TRAIN_ROWS
from tests.components.trainer.fn_args import trainer_fn_args
from tests.components.trainer.multiworker_task import row_ids
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer.input_fn import make_input_fn, shard_files

HOUSING = get_recipe('housing')
BATCH = 16


def _input_fn(inputs: Dict[str, str], raw: bool, split: str = 'train'):
    # The files and DataAccessor the Trainer executor hands run_fn.
    fn_args = trainer_fn_args(inputs, Path(tempfile.mkdtemp()), 1, HOUSING.trainer_config(raw_examples=raw))
    files = fn_args.train_files if split == 'train' else fn_args.eval_files
    tft_output = tft.TFTransformOutput(inputs['transform_graph_uri'])
    keys = [k for k in tft_output.transformed_feature_spec() if k != HOUSING.task_spec.transformed_label_key]
    return make_input_fn(files, fn_args.data_accessor, tft_output, HOUSING.task_spec.transformed_label_key, keys,
                         BATCH, shuffle=False, raw=raw)


def _first_batch_in_a_graph(input_fn) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """As an Estimator runs an input_fn: in a graph, tables initialized by the scaffold's ops."""
    with tf.Graph().as_default():
        result = input_fn()
        if isinstance(result, tf.data.Dataset):
            result = tf.compat.v1.data.make_one_shot_iterator(result).get_next()
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            return session.run(result)


def _assert_same_batch(a, b) -> None:
    (features_a, label_a), (features_b, label_b) = a, b
    assert set(features_a) == set(features_b) and len(features_a) > 5
    for key in features_a:
        np.testing.assert_allclose(np.asarray(features_a[key]), np.asarray(features_b[key]), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    assert np.asarray(label_a).shape == (BATCH, 1)
    np.testing.assert_allclose(np.asarray(label_a), np.asarray(label_b), rtol=1e-6)


@pytest.mark.parametrize('split', ['train', 'eval'])
def test_raw_examples_transformed_in_an_estimator_graph_equal_the_materialized_ones(housing_trainer_inputs, split):
    raw = _input_fn(housing_trainer_inputs, raw=True, split=split)
    materialized = _input_fn(housing_trainer_inputs, raw=False, split=split)
    _assert_same_batch(_first_batch_in_a_graph(raw), _first_batch_in_a_graph(materialized))


def test_raw_examples_transformed_eagerly_for_keras_fit_equal_the_materialized_ones(housing_trainer_inputs):
    raw = _input_fn(housing_trainer_inputs, raw=True)()
    materialized = _input_fn(housing_trainer_inputs, raw=False)()
    assert isinstance(raw, tf.data.Dataset)
    _assert_same_batch(next(iter(raw)), next(iter(materialized)))


@pytest.fixture(scope='module')
def tfx_transform_output(housing_trainer_inputs, tmp_path_factory) -> Dict[str, str]:
    """TFX's Transform executor run on the raw examples: its transform graph and the examples it
    materializes (analyzed on the train split, both splits transformed), nothing of ours."""
    work = tmp_path_factory.mktemp('tfx-transform')
    raw = tfx.types.standard_artifacts.Examples()
    raw.uri = housing_trainer_inputs['raw_examples_uri']
    raw.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    schema = tfx.types.standard_artifacts.Schema()
    schema.uri = str(work / 'schema')
    tf.io.gfile.makedirs(schema.uri)
    tf.io.gfile.copy(str(HOUSING.schema_path), f'{schema.uri}/schema.pbtxt')
    graph = tfx.types.standard_artifacts.TransformGraph()
    graph.uri = str(work / 'transform_graph')
    materialized = tfx.types.standard_artifacts.Examples()
    materialized.uri = str(work / 'transformed_examples')
    properties = {'preprocessing_fn': HOUSING.preprocessing_fn, 'force_tf_compat_v1': 0, 'disable_statistics': 1,
                  'disable_analyzer_cache': 1, 'custom_config': 'null'}
    # TFX's Beam executor parses absl flags from sys.argv: keep pytest's out of its way.
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        executor = tfx_transform_executor.Executor(tfx_transform_executor.Executor.Context(
            beam_pipeline_args=['--direct_running_mode=in_memory'], tmp_dir=str(work / 'tmp'), unique_id='1'))
        executor.Do({'examples': [raw], 'schema': [schema]},
                    {'transform_graph': [graph], 'transformed_examples': [materialized]}, properties)
    return {'examples_uri': materialized.uri, 'transform_graph_uri': graph.uri,
            'raw_examples_uri': housing_trainer_inputs['raw_examples_uri']}


def _all_rows(inputs: Dict[str, str], raw: bool, rows: int) -> np.ndarray:
    """Every row of the eval split as the input_fn yields it (features by name, then the label),
    sorted: Beam need not keep the order of the rows it materializes."""
    fn_args = trainer_fn_args(inputs, Path(tempfile.mkdtemp()), 1, HOUSING.trainer_config(raw_examples=raw))
    tft_output = tft.TFTransformOutput(inputs['transform_graph_uri'])
    label = HOUSING.task_spec.transformed_label_key
    keys = sorted(k for k in tft_output.transformed_feature_spec() if k != label)
    batch = 8  # the input_fn repeats: 5 batches are the 40 rows once
    input_fn = make_input_fn(fn_args.eval_files, fn_args.data_accessor, tft_output, label, keys, batch,
                             shuffle=False, raw=raw)
    table = [np.concatenate([np.reshape(features[k].numpy(), (batch, -1)) for k in keys] + [labels.numpy()],
                            axis=1) for features, labels in input_fn().take(rows // batch)]
    table = np.concatenate(table)
    return table[np.lexsort(table.T[::-1])]


def test_raw_examples_transformed_as_read_equal_what_tfx_transform_materializes(tfx_transform_output):
    rows = 200 - TRAIN_ROWS
    materialized = _all_rows(tfx_transform_output, raw=False, rows=rows)
    transformed_as_read = _all_rows(tfx_transform_output, raw=True, rows=rows)
    assert materialized.shape == transformed_as_read.shape and materialized.shape[0] == rows
    assert len(np.unique(materialized, axis=0)) == rows  # each row once, not one row repeated
    np.testing.assert_allclose(transformed_as_read, materialized, rtol=1e-5, atol=1e-6)


def test_the_materialized_input_fn_keeps_only_the_model_inputs(housing_trainer_inputs):
    features, _ = next(iter(_input_fn(housing_trainer_inputs, raw=False)()))
    assert HOUSING.task_spec.transformed_label_key not in features


def _split_in_files(inputs: Dict[str, str], work: Path, files: int) -> Dict[str, str]:
    """The same Transform output with its training split written as ``files`` files."""
    records = list(tf.data.TFRecordDataset(tf.io.gfile.glob(f'{inputs["examples_uri"]}/Split-train/*'),
                                           compression_type='GZIP').as_numpy_iterator())
    (work / 'Split-train').mkdir(parents=True)
    for i in range(files):
        with tf.io.TFRecordWriter(str(work / 'Split-train' / f'data-{i:05d}-of-{files:05d}.gz'), 'GZIP') as w:
            for record in records[i::files]:
                w.write(record)
    shutil.copytree(Path(inputs['examples_uri']) / 'Split-eval', work / 'Split-eval')
    return {**inputs, 'examples_uri': str(work)}


def _rows_read(inputs: Dict[str, str], shard: Optional[Tuple[int, int]], batches: int) -> List[Set[str]]:
    """Row ids of the first ``batches`` batches a training input_fn yields, batch by batch."""
    fn_args = trainer_fn_args(inputs, Path(tempfile.mkdtemp()), 1, HOUSING.trainer_config())
    tft_output = tft.TFTransformOutput(inputs['transform_graph_uri'])
    keys = sorted(k for k in tft_output.transformed_feature_spec() if k != HOUSING.task_spec.transformed_label_key)
    input_fn = make_input_fn(fn_args.train_files, fn_args.data_accessor, tft_output,
                             HOUSING.task_spec.transformed_label_key, keys, BATCH, shuffle=True, seed=42,
                             shard=shard)
    return [set(row_ids([features[k].numpy() for k in keys] + [label.numpy()]))
            for features, label in input_fn().take(batches)]


@pytest.mark.parametrize('files', [1, 4])
def test_training_tasks_read_disjoint_parts_that_cover_the_split(housing_trainer_inputs, tmp_path, files):
    """4 files, 2 tasks: 2 files each; 1 file: every other batch of one shared shuffled stream."""
    inputs = _split_in_files(housing_trainer_inputs, tmp_path, files)
    train_files = trainer_fn_args(inputs, tmp_path / 'args', 1, HOUSING.trainer_config()).train_files
    own = shard_files(train_files, (1, 2))
    assert (own is None) if files == 1 else [Path(f).name for f in own] == ['data-00001-of-00004.gz',
                                                                            'data-00003-of-00004.gz']
    everything = set().union(*_rows_read(inputs, None, 160 // BATCH))
    assert len(everything) > 150  # 160 rows, hardly any duplicates
    half = 160 // BATCH // 2  # each task's share of one epoch
    parts = [set().union(*_rows_read(inputs, (index, 2), half)) for index in range(2)]
    assert not parts[0] & parts[1]
    assert parts[0] | parts[1] == everything


def test_too_few_files_and_no_shared_seed_is_refused(housing_trainer_inputs):
    fn_args = trainer_fn_args(housing_trainer_inputs, Path(tempfile.mkdtemp()), 1, HOUSING.trainer_config())
    tft_output = tft.TFTransformOutput(housing_trainer_inputs['transform_graph_uri'])
    with pytest.raises(ValueError, match='needs a shuffle seed that every task shares'):
        make_input_fn(fn_args.train_files, fn_args.data_accessor, tft_output, HOUSING.task_spec.transformed_label_key,
                      ['x'], BATCH, shuffle=True, seed=None, shard=(0, 2))
