"""The parts of ``create_pipeline`` that depend on where the pipeline runs.

Kept apart so that create_pipeline stays one readable wiring: these helpers only
choose values and component classes from ``PipelineConfig`` (runtime parameters,
Dataflow arguments, Vertex AI Training / endpoint extensions). With the defaults they
return exactly what a local run needs.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, Type, Union

from tfx import v1 as tfx

from tfx_keras_estimator.pipelines.cloud import (
    DATA_ROOT_PARAMETER,
    EVAL_ARGS_PARAMETER,
    TRAIN_ARGS_PARAMETER,
    runtime_parameter_defaults,
)
from tfx_keras_estimator.pipelines.config import PipelineConfig


def _parameter(config: PipelineConfig, name: str) -> tfx.dsl.experimental.RuntimeParameter:
    return tfx.dsl.experimental.RuntimeParameter(
        name=name, ptype=str, default=runtime_parameter_defaults(config)[name])


def data_root(config: PipelineConfig) -> Union[str, tfx.dsl.experimental.RuntimeParameter]:
    if not config.runtime_parameters:
        return config.resolved_data_root
    return _parameter(config, DATA_ROOT_PARAMETER)


def steps_args(config: PipelineConfig) -> Tuple[Any, Any]:
    """Trainer's train_args and eval_args: protos, or runtime parameters holding their JSON."""
    if not config.runtime_parameters:
        return (tfx.proto.TrainArgs(num_steps=config.resolved_train_steps()),
                tfx.proto.EvalArgs(num_steps=config.resolved_eval_steps()))
    return _parameter(config, TRAIN_ARGS_PARAMETER), _parameter(config, EVAL_ARGS_PARAMETER)


def trainer_class(config: PipelineConfig, custom_config: Dict[str, Any]) -> Tuple[Type, Dict[str, Any]]:
    """TFX's Trainer, or the Vertex AI Training extension with its keys beside ours."""
    training = config.cloud.vertex_training
    if training is None:
        return tfx.components.Trainer, custom_config
    return (tfx.extensions.google_cloud_ai_platform.Trainer,
            {**custom_config, **training.custom_config(config.cloud.image)})


def pusher(config: PipelineConfig, **inputs: Any) -> tfx.components.Pusher:
    """Pushes to the serving folder, or to a Vertex AI endpoint."""
    endpoint = config.cloud.vertex_endpoint
    if endpoint is None:
        return tfx.components.Pusher(**inputs, push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.resolved_serving_dir)))
    return tfx.extensions.google_cloud_ai_platform.Pusher(**inputs, custom_config=endpoint.custom_config())


def beam_pipeline_args(config: PipelineConfig) -> List[str]:
    """Ours, Dataflow's, then the user's ``--beam-arg`` (``PipelineConfig.resolved_beam_pipeline_args``)."""
    return config.resolved_beam_pipeline_args
