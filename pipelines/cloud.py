"""Scale-out options for Kubeflow / Vertex AI runs, all off by default.

``PipelineConfig.cloud`` holds them; ``create_pipeline`` reads them to pick the Beam
arguments and the Trainer / Pusher component classes. Local runs leave them empty.
The container image that the components run in (``CloudConfig.image``) is also the
image of Dataflow's workers and of every Vertex AI Training worker pool, so the code
that runs there is the code that was compiled.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type, TypeVar

if TYPE_CHECKING:  # config.py imports this module
    from pipelines.config import PipelineConfig

# TFX's custom_config keys of tfx.extensions.google_cloud_ai_platform (the public
# v1 names, spelled out so this module imports without TFX).
ENABLE_VERTEX_KEY = 'ai_platform_enable_vertex'
VERTEX_REGION_KEY = 'ai_platform_vertex_region'
TRAINING_ARGS_KEY = 'ai_platform_training_args'
SERVING_ARGS_KEY = 'ai_platform_serving_args'
VERTEX_CONTAINER_IMAGE_URI_KEY = 'ai_platform_vertex_container_image_uri'

# Names of the compiled spec's runtime parameters. Train and eval args are JSON text
# ('{"num_steps": 500}'): the one form of a runtime proto argument that both
# KubeflowDagRunner and KubeflowV2DagRunner turn into a pipeline parameter (a
# RuntimeParameter nested in a dict is a KFP v1 only feature).
DATA_ROOT_PARAMETER = 'data-root'
TRAIN_ARGS_PARAMETER = 'train-args'
EVAL_ARGS_PARAMETER = 'eval-args'


def steps_json(steps: int) -> str:
    return json.dumps({'num_steps': steps})


def runtime_parameter_defaults(config: 'PipelineConfig') -> Dict[str, str]:
    """Each runtime parameter's default (empty when they are off)."""
    if not config.runtime_parameters:
        return {}
    return {DATA_ROOT_PARAMETER: config.resolved_data_root,
            TRAIN_ARGS_PARAMETER: steps_json(config.resolved_train_steps()),
            EVAL_ARGS_PARAMETER: steps_json(config.resolved_eval_steps())}


# Vertex AI's prebuilt TensorFlow 2.15 serving image (TF Serving inside).
DEFAULT_SERVING_IMAGE = 'us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest'


@dataclass
class DataflowConfig:
    """Runs the Beam components (ExampleGen, StatisticsGen, Transform, Evaluator) on Dataflow.

    Workers use the pipeline image as their SDK container, so they have this package
    and the pinned stack without staging anything.
    """

    project: str
    region: str
    temp_location: str
    machine_type: Optional[str] = None
    max_num_workers: Optional[int] = None
    disk_size_gb: Optional[int] = None
    service_account_email: Optional[str] = None
    subnetwork: Optional[str] = None
    extra_args: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.temp_location.startswith('gs://'):
            raise ValueError(f'dataflow.temp_location must be a gs:// URI, got {self.temp_location!r}')
        if self.max_num_workers is not None and self.max_num_workers < 1:
            raise ValueError(f'dataflow.max_num_workers must be at least 1, got {self.max_num_workers}')

    def beam_pipeline_args(self, image: str) -> List[str]:
        args = [
            '--runner=DataflowRunner',
            f'--project={self.project}',
            f'--region={self.region}',
            f'--temp_location={self.temp_location}',
            f'--sdk_container_image={image}',
        ]
        optional = (('machine_type', self.machine_type), ('max_num_workers', self.max_num_workers),
                    ('disk_size_gb', self.disk_size_gb), ('service_account_email', self.service_account_email),
                    ('subnetwork', self.subnetwork))
        args += [f'--{name}={value}' for name, value in optional if value is not None]
        return args + list(self.extra_args)


@dataclass
class WorkerPoolConfig:
    """One Vertex AI Training worker pool."""

    machine_type: str = 'n1-standard-4'
    replica_count: int = 1
    accelerator_type: Optional[str] = None
    accelerator_count: int = 0

    def __post_init__(self) -> None:
        if self.replica_count < 1:
            raise ValueError(f'replica_count must be at least 1, got {self.replica_count}')

    def spec(self, image: str) -> Dict[str, Any]:
        machine: Dict[str, Any] = {'machine_type': self.machine_type}
        if self.accelerator_type:
            machine.update(accelerator_type=self.accelerator_type, accelerator_count=self.accelerator_count)
        return {'machine_spec': machine, 'replica_count': self.replica_count, 'container_spec': {'image_uri': image}}


@dataclass
class VertexTrainingConfig:
    """Runs the Trainer as a Vertex AI custom job: chief + workers + parameter servers.

    Vertex sets TF_CONFIG on every replica; run_fn trains on all of them and only the
    chief exports.
    """

    project: str
    region: str
    chief: WorkerPoolConfig = field(default_factory=WorkerPoolConfig)
    workers: Optional[WorkerPoolConfig] = None
    parameter_servers: Optional[WorkerPoolConfig] = None
    service_account: Optional[str] = None

    def __post_init__(self) -> None:
        if self.chief.replica_count != 1:
            raise ValueError(f'vertex_training.chief.replica_count must be 1, got {self.chief.replica_count}')
        if self.parameter_servers is not None and self.workers is None:
            raise ValueError('vertex_training.parameter_servers needs vertex_training.workers: Vertex AI '
                             'takes worker pools in the order chief, workers, parameter servers')

    def custom_config(self, image: str) -> Dict[str, Any]:
        """The extension Trainer's custom_config keys (ours sit beside them under 'tke_trainer')."""
        pools = [self.chief] + [p for p in (self.workers, self.parameter_servers) if p is not None]
        job_spec: Dict[str, Any] = {'worker_pool_specs': [p.spec(image) for p in pools]}
        if self.service_account:
            job_spec['service_account'] = self.service_account
        return {
            ENABLE_VERTEX_KEY: True,
            VERTEX_REGION_KEY: self.region,
            TRAINING_ARGS_KEY: {'project': self.project, 'job_spec': job_spec},
        }


@dataclass
class VertexEndpointConfig:
    """Pushes blessed models to a Vertex AI endpoint (created if missing) instead of a folder."""

    project: str
    region: str
    endpoint_name: str
    machine_type: str = 'n1-standard-2'
    min_replica_count: int = 1
    max_replica_count: int = 1
    serving_image: str = DEFAULT_SERVING_IMAGE

    def __post_init__(self) -> None:
        if not 1 <= self.min_replica_count <= self.max_replica_count:
            raise ValueError('vertex_endpoint needs 1 <= min_replica_count <= max_replica_count, got '
                             f'{self.min_replica_count} and {self.max_replica_count}')

    def custom_config(self) -> Dict[str, Any]:
        return {
            ENABLE_VERTEX_KEY: True,
            VERTEX_REGION_KEY: self.region,
            VERTEX_CONTAINER_IMAGE_URI_KEY: self.serving_image,
            SERVING_ARGS_KEY: {
                'project_id': self.project,
                'endpoint_name': self.endpoint_name,
                'machine_type': self.machine_type,
                'min_replica_count': self.min_replica_count,
                'max_replica_count': self.max_replica_count,
            },
        }


@dataclass
class CloudConfig:
    """The pipeline image and the scale-out options; empty means everything runs in-process."""

    image: Optional[str] = None
    dataflow: Optional[DataflowConfig] = None
    vertex_training: Optional[VertexTrainingConfig] = None
    vertex_endpoint: Optional[VertexEndpointConfig] = None

    def __post_init__(self) -> None:
        if (self.dataflow or self.vertex_training) and not self.image:
            raise ValueError('Dataflow and Vertex AI Training run the pipeline image: set cloud.image')

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> 'CloudConfig':
        """From JSON (``tke compile --cloud-config FILE``); unknown keys are errors."""
        image = _check_keys(cls, data, 'cloud config').get('image')
        return cls(
            image=image,
            dataflow=_build(DataflowConfig, data.get('dataflow'), 'dataflow'),
            vertex_training=_build_training(data.get('vertex_training')),
            vertex_endpoint=_build(VertexEndpointConfig, data.get('vertex_endpoint'), 'vertex_endpoint'))


T = TypeVar('T')


def _check_keys(cls: type, data: Any, where: str) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f'{where} must be a JSON object, got {data!r}')
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f'unknown keys in {where}: {unknown}; known keys: {sorted(known)}')
    return data


def _build(cls: Type[T], data: Optional[Dict[str, Any]], where: str) -> Optional[T]:
    if data is None:
        return None
    try:
        return cls(**_check_keys(cls, data, where))
    except TypeError as e:  # a required key is missing
        raise ValueError(f'{where}: {e}') from None


def _build_training(data: Optional[Dict[str, Any]]) -> Optional[VertexTrainingConfig]:
    if data is None:
        return None
    data = dict(_check_keys(VertexTrainingConfig, data, 'vertex_training'))
    for key in ('chief', 'workers', 'parameter_servers'):
        if key in data:
            data[key] = _build(WorkerPoolConfig, data[key], f'vertex_training.{key}')
    return _build(VertexTrainingConfig, data, 'vertex_training')
