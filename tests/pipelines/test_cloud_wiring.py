"""cloud_wiring.resolve: where the pipeline runs, decided once from the PipelineConfig."""

from __future__ import annotations

import dataclasses
import json

from tfx import v1 as tfx

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.cloud import (
    ENABLE_VERTEX_KEY,
    CloudConfig,
    VertexEndpointConfig,
    VertexTrainingConfig,
)
from tfx_keras_estimator.pipelines.cloud_wiring import resolve, runtime_parameter_defaults
from tfx_keras_estimator.pipelines.config import PipelineConfig

_MODEL = tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model)


def _config(**kw) -> PipelineConfig:
    recipe = get_recipe('housing')
    return PipelineConfig(recipe='housing', pipeline_root='/tmp/root', data_root=str(recipe.data_dir),
                          schema_path=str(recipe.schema_path), serving_dir='/tmp/serving', train_steps=7, **kw)


def test_a_local_run_gets_paths_protos_tfx_components_and_the_serving_folder():
    wiring = resolve(_config())
    assert wiring.data_root == str(get_recipe('housing').data_dir)
    assert wiring.train_args.num_steps == 7 and wiring.eval_args.num_steps == get_recipe('housing').eval_steps
    assert wiring.trainer_class is tfx.components.Trainer and wiring.trainer_custom_config == {}
    assert wiring.serving_dir == '/tmp/serving' and wiring.endpoint_custom_config is None
    pusher = wiring.pusher(model=_MODEL)
    assert type(pusher) is tfx.components.Pusher
    assert '/tmp/serving' in pusher.exec_properties['push_destination']


def test_runtime_parameters_carry_their_defaults():
    config = _config(runtime_parameters=True)
    wiring = resolve(config)
    defaults = runtime_parameter_defaults(config)
    assert isinstance(wiring.data_root, tfx.dsl.experimental.RuntimeParameter)
    assert wiring.data_root.default == defaults['data-root'] == config.resolved_data_root
    assert json.loads(wiring.train_args.default) == {'num_steps': 7}


def test_vertex_training_and_endpoint_extensions_with_their_keys_beside_ours():
    cloud = CloudConfig(image='gcr.io/p/tke:1', vertex_training=VertexTrainingConfig(project='p', region='r'),
                        vertex_endpoint=VertexEndpointConfig(project='p', region='r', endpoint_name='e'))
    wiring = resolve(dataclasses.replace(_config(), cloud=cloud))
    assert wiring.trainer_class is tfx.extensions.google_cloud_ai_platform.Trainer
    assert wiring.trainer_custom_config[ENABLE_VERTEX_KEY] is True
    assert wiring.serving_dir is None and wiring.endpoint_custom_config[ENABLE_VERTEX_KEY] is True
    assert type(wiring.pusher(model=_MODEL)) is tfx.extensions.google_cloud_ai_platform.Pusher
