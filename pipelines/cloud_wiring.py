"""The parts of ``create_pipeline`` that depend on where the pipeline runs, resolved once.

Kept apart so that create_pipeline stays one readable wiring: ``resolve`` chooses values
and component classes from ``PipelineConfig`` (runtime parameters, Dataflow arguments,
Vertex AI Training / endpoint extensions) into one ``Wiring``. With the defaults it holds
exactly what a local run needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Type, Union

from tfx import v1 as tfx

from tfx_keras_estimator.pipelines.cloud import (
    DATA_ROOT_PARAMETER,
    EVAL_ARGS_PARAMETER,
    TRAIN_ARGS_PARAMETER,
    steps_json,
)
from tfx_keras_estimator.pipelines.config import PipelineConfig


def runtime_parameter_defaults(config: PipelineConfig) -> Dict[str, str]:
    """Each runtime parameter's default (empty when they are off)."""
    if not config.runtime_parameters:
        return {}
    return {DATA_ROOT_PARAMETER: config.resolved_data_root,
            TRAIN_ARGS_PARAMETER: steps_json(config.resolved_train_steps()),
            EVAL_ARGS_PARAMETER: steps_json(config.resolved_eval_steps())}


def _parameter(config: PipelineConfig, name: str) -> tfx.dsl.experimental.RuntimeParameter:
    return tfx.dsl.experimental.RuntimeParameter(
        name=name, ptype=str, default=runtime_parameter_defaults(config)[name])


@dataclass(frozen=True)
class Wiring:
    """Where the pipeline runs, decided once from the PipelineConfig: what create_pipeline wires in."""

    # ExampleGen's input_base: a path, or the data-root runtime parameter.
    data_root: Union[str, tfx.dsl.experimental.RuntimeParameter]
    # The Trainer's (and Tuner's) train_args and eval_args: protos, or runtime parameters holding their JSON.
    train_args: Any
    eval_args: Any
    # Ours, Dataflow's, then the user's --beam-arg (PipelineConfig.resolved_beam_pipeline_args).
    beam_pipeline_args: List[str]
    # TFX's Trainer, or Vertex AI Training's, whose keys go beside ours in custom_config.
    trainer_class: Type
    trainer_custom_config: Dict[str, Any]
    # The serving folder, or None: the Vertex AI endpoint (endpoint_custom_config).
    serving_dir: Optional[str]
    endpoint_custom_config: Optional[Dict[str, Any]]

    def trainer(self, custom_config: Dict[str, Any], **inputs: Any):
        return self.trainer_class(**inputs, custom_config={**custom_config, **self.trainer_custom_config})

    def pusher(self, **inputs: Any) -> tfx.components.Pusher:
        """Pushes to the serving folder, or to a Vertex AI endpoint."""
        if self.serving_dir is None:
            return tfx.extensions.google_cloud_ai_platform.Pusher(**inputs, custom_config=self.endpoint_custom_config)
        return tfx.components.Pusher(**inputs, push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=self.serving_dir)))


def resolve(config: PipelineConfig) -> Wiring:
    """The Wiring of a PipelineConfig; with the defaults, exactly what a local run needs."""
    if config.runtime_parameters:
        data_root: Union[str, tfx.dsl.experimental.RuntimeParameter] = _parameter(config, DATA_ROOT_PARAMETER)
        train_args: Any = _parameter(config, TRAIN_ARGS_PARAMETER)
        eval_args: Any = _parameter(config, EVAL_ARGS_PARAMETER)
    else:
        data_root = config.resolved_data_root
        train_args = tfx.proto.TrainArgs(num_steps=config.resolved_train_steps())
        eval_args = tfx.proto.EvalArgs(num_steps=config.resolved_eval_steps())
    training, endpoint = config.cloud.vertex_training, config.cloud.vertex_endpoint
    return Wiring(
        data_root=data_root, train_args=train_args, eval_args=eval_args,
        beam_pipeline_args=config.resolved_beam_pipeline_args,
        trainer_class=(tfx.components.Trainer if training is None
                       else tfx.extensions.google_cloud_ai_platform.Trainer),
        trainer_custom_config={} if training is None else training.custom_config(config.cloud.image),
        serving_dir=config.resolved_serving_dir if endpoint is None else None,
        endpoint_custom_config=None if endpoint is None else endpoint.custom_config())
