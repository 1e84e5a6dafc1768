"""PipelineConfig: the recipe it names, derived defaults, and a Trainer that must fit the recipe."""

from __future__ import annotations

import dataclasses

import pytest

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer.stack import LEGACY, MODERN, StackError
from tfx_keras_estimator.pipelines.cloud import CloudConfig, VertexTrainingConfig, WorkerPoolConfig
from tfx_keras_estimator.pipelines.config import PipelineConfig


def test_a_recipe_by_name_or_object_and_paths_from_the_recipe():
    by_name = PipelineConfig(recipe='taxi', pipeline_root='/tmp/root/')
    by_object = PipelineConfig(recipe=get_recipe('taxi'), pipeline_root='/tmp/root/')
    assert by_name.recipe == by_object.recipe == get_recipe('taxi')
    assert by_name.name == 'tke-taxi'
    assert by_name.resolved_data_root == str(get_recipe('taxi').data_dir)
    assert by_name.resolved_schema_path == str(get_recipe('taxi').schema_path)
    assert by_name.resolved_serving_dir == '/tmp/root/serving'
    assert by_name.trainer_config == get_recipe('taxi').trainer_config()


def test_a_trainer_of_another_recipe_is_refused_at_build_time():
    housing = get_recipe('housing')
    with pytest.raises(ValueError, match=r"task spec differs from recipe 'taxi'.*'label_key': \('medv', 'tips'\)"):
        PipelineConfig(recipe='taxi', pipeline_root='/tmp/r', trainer=housing.trainer_config())
    # The recipe's own spec with another builder (and so without its weight labels) is fine.
    own = get_recipe('taxi').trainer_config(model_builder='my.models.build')
    assert PipelineConfig(recipe='taxi', pipeline_root='/tmp/r', trainer=own).trainer_config is own


def test_the_eval_model_keeps_what_the_evaluator_slices_on():
    taxi = get_recipe('taxi')
    assert taxi.trainer_config().eval_features == taxi.slice_features == ('trip_start_hour',)
    with pytest.raises(ValueError, match=r"slices on \['trip_start_hour'\], which the Trainer's eval_features \[\]"):
        PipelineConfig(recipe=taxi, pipeline_root='/tmp/r', trainer=taxi.trainer_config(eval_features=()))
    # None keeps every raw feature: any slice works.
    assert PipelineConfig(recipe=taxi, pipeline_root='/tmp/r', trainer=taxi.trainer_config(eval_features=None))


def test_steps_must_be_positive():
    with pytest.raises(ValueError, match='eval_steps must be at least 1, got 0'):
        PipelineConfig(recipe='housing', pipeline_root='/tmp/r', eval_steps=0)


def test_the_split_follows_the_recipe():
    text = dataclasses.replace(get_recipe('text'))
    assert PipelineConfig(recipe=text, pipeline_root='/tmp/r').resolved_split().train_buckets == 4


def test_train_steps_follow_the_data_with_the_recipes_epochs():
    taxi = get_recipe('taxi')  # train_steps 500 at least, one epoch; batches of 256; split 2:1
    assert taxi.train_epochs == 1.0 and taxi.trainer_config().batch_size == 256
    # 15k rows: ~10k train rows are 40 steps of 256: the recipe's 500 stand.
    small = PipelineConfig(recipe=taxi, pipeline_root='/p', data_rows=15_000)
    assert small.train_steps_and_why() == (500, "the recipe's least; 1 epoch(s) of ~10,000 train rows at batch 256 "
                                                 'would be 40')
    # 1.5M rows: ~1M train rows, one pass is 3,907 steps.
    big = PipelineConfig(recipe=taxi, pipeline_root='/p', data_rows=1_500_000)
    assert big.train_steps_and_why() == (3907, '1 epoch(s) of ~1,000,000 train rows at batch 256')
    assert big.resolved_train_steps() == 3907
    # Asked-for steps win; no row count (compiling for a cluster): the recipe's steps.
    assert PipelineConfig(recipe=taxi, pipeline_root='/p', data_rows=1_500_000,
                          train_steps=100).train_steps_and_why() == (100, 'as asked')
    assert PipelineConfig(recipe=taxi, pipeline_root='/p').train_steps_and_why() == (500, "the recipe's 500")
    # A recipe without epochs keeps its fixed steps whatever the data.
    housing = PipelineConfig(recipe='housing', pipeline_root='/p', data_rows=10_000_000)
    assert housing.resolved_train_steps() == get_recipe('housing').train_steps


def test_train_epochs_must_be_positive():
    with pytest.raises(ValueError, match='train_epochs must be positive'):
        dataclasses.replace(get_recipe('taxi'), train_epochs=0)


@pytest.mark.parametrize('pools, refused', [
    ({'workers': WorkerPoolConfig(replica_count=2)}, False),  # a chief and workers: trained together
    ({'workers': WorkerPoolConfig(), 'parameter_servers': WorkerPoolConfig()}, True),
    ({'workers': WorkerPoolConfig(), 'parameter_servers': WorkerPoolConfig(), 'evaluator': WorkerPoolConfig()}, True),
])
def test_the_modern_stack_refuses_parameter_servers_and_an_evaluator_at_build_time(pools, refused):
    cloud = CloudConfig(image='gcr.io/p/tke:1', vertex_training=VertexTrainingConfig(project='p', region='r', **pools))
    if not refused:
        assert PipelineConfig(recipe='housing', pipeline_root='gs://b/r', cloud=cloud, stack=MODERN).stack == MODERN
        return
    with pytest.raises(StackError, match=r"vertex_training.parameter_servers and vertex_training.evaluator .*needs "
                                         r'the legacy stack'):
        PipelineConfig(recipe='housing', pipeline_root='gs://b/r', cloud=cloud, stack=MODERN)
    # The legacy stack trains them (asynchronous parameter-server training).
    assert PipelineConfig(recipe='housing', pipeline_root='gs://b/r', cloud=cloud, stack=LEGACY).stack == LEGACY
