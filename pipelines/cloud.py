"""Scale-out options for Kubeflow / Vertex AI runs, all off by default.

``PipelineConfig.cloud`` holds them; ``create_pipeline`` reads them to pick the Beam
arguments and the Trainer / Pusher component classes. Local runs leave them empty.
The container image that the components run in (``CloudConfig.image``) is also the
image of Dataflow's workers and of every Vertex AI Training worker pool, so the code
that runs there is the code that was compiled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

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


# Vertex AI's prebuilt TensorFlow 2.15 serving image (TF Serving inside).
DEFAULT_SERVING_IMAGE = 'us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest'


_BEAM_ARG = re.compile(r'--[A-Za-z][A-Za-z0-9_-]*(=.*)?', re.DOTALL)


def check_beam_arg(arg: str, option: str) -> None:
    """ValueError naming ``option`` unless ``arg`` is one Beam pipeline option as Beam parses it:
    ``--name=value``, or ``--flag`` alone for one of Beam's switches (``--save_main_session``,
    ``--no_use_public_ips``: they take no value, ``--flag=true`` is an error in Beam)."""
    shown = f'{option} {arg!r}'
    if not isinstance(arg, str) or not _BEAM_ARG.fullmatch(arg):
        raise ValueError(f'{shown}: a Beam argument is --name=value (e.g. --runner=DataflowRunner), or --name '
                         'alone for a Beam switch such as --save_main_session')
    from apache_beam.options.pipeline_options import PipelineOptions  # Beam's own parser decides

    name, has_value, _ = arg[2:].partition('=')
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):  # argparse prints its usage before it exits
            parsed = PipelineOptions([arg]).get_all_options(retain_unknown_options=True)
    except SystemExit:
        said = (errors.getvalue().strip().splitlines() or ['not a valid argument'])[-1].split('error: ')[-1]
        hint = f'; write --{name}=VALUE' if not has_value else ''
        raise ValueError(f'{shown}: Beam refuses it ({said}){hint}') from None
    # Beam keeps an option it does not know as given; alone, it would be a switch Beam has not.
    if not has_value and name in parsed and name not in PipelineOptions([]).get_all_options():
        raise ValueError(f'{shown}: not a switch Beam knows; give its value as --{name}=VALUE')


@dataclass
class DataflowConfig:
    """Runs the Beam components (ExampleGen, StatisticsGen, Transform, Evaluator) on Dataflow.

    Workers use the pipeline image as their SDK container (``--sdk_container_image``): they
    import this package from the image's /tke/site (its PYTHONPATH) with the pinned stack,
    so nothing is staged or pip-installed when they start.

    Each key but ``extra_args`` is the Beam option of the same name (``--num_workers=...``);
    None leaves it to Dataflow. ``experiments`` gives one ``--experiments=`` each (e.g.
    ``use_runner_v2``); ``extra_args`` are any other Beam arguments, after ours: ``--name=value``
    each, or a Beam switch alone (e.g. ``--worker_zone=europe-west4-a``, ``--no_use_public_ips``).
    """

    project: str
    region: str
    temp_location: str
    machine_type: Optional[str] = None
    num_workers: Optional[int] = None
    max_num_workers: Optional[int] = None
    disk_size_gb: Optional[int] = None
    service_account_email: Optional[str] = None
    subnetwork: Optional[str] = None
    experiments: List[str] = field(default_factory=list)
    extra_args: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.temp_location, str) or not self.temp_location.startswith('gs://'):
            raise ValueError(f'dataflow.temp_location must be a gs:// URI, got {self.temp_location!r}')
        for name in ('num_workers', 'max_num_workers', 'disk_size_gb'):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f'dataflow.{name} must be an integer of at least 1, got {value!r}')
        if self.num_workers and self.max_num_workers and self.num_workers > self.max_num_workers:
            raise ValueError(f'dataflow.num_workers ({self.num_workers}) exceeds dataflow.max_num_workers '
                             f'({self.max_num_workers})')
        for name in ('experiments', 'extra_args'):
            if not isinstance(getattr(self, name), list):
                raise ValueError(f'dataflow.{name} must be a list, got {getattr(self, name)!r}')
        for experiment in self.experiments:
            if not isinstance(experiment, str) or not experiment or experiment.startswith('-'):
                raise ValueError(f'dataflow.experiments: each is an experiment\'s name (use_runner_v2), '
                                 f'got {experiment!r}')
        for arg in self.extra_args:
            check_beam_arg(arg, 'dataflow.extra_args')

    def beam_pipeline_args(self, image: Optional[str]) -> List[str]:
        args = ['--runner=DataflowRunner', f'--sdk_container_image={image}']
        # Every key but extra_args is the Beam option of its name: no second list of them to keep.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != 'extra_args' and value is not None:
                args += [f'--{f.name}={v}' for v in (value if isinstance(value, list) else [value])]
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
    """Runs the Trainer as a Vertex AI custom job: chief + workers + parameter servers + evaluator.

    Vertex sets TF_CONFIG on every replica (task types chief, worker, ps, evaluator: its
    worker pools 0 to 3); run_fn trains on the chief and the workers, each on its own part
    of the training data, and only the chief exports. The evaluator evaluates each new
    checkpoint on the whole eval split until the chief is done.
    """

    project: str
    region: str
    chief: WorkerPoolConfig = field(default_factory=WorkerPoolConfig)
    workers: Optional[WorkerPoolConfig] = None
    parameter_servers: Optional[WorkerPoolConfig] = None
    evaluator: Optional[WorkerPoolConfig] = None
    service_account: Optional[str] = None

    def __post_init__(self) -> None:
        if self.chief.replica_count != 1:
            raise ValueError(f'vertex_training.chief.replica_count must be 1, got {self.chief.replica_count}')
        # TFX's Vertex Trainer gives every pool spec a container, an empty placeholder too: none can be skipped.
        if self.parameter_servers is not None and self.workers is None:
            raise ValueError('vertex_training.parameter_servers needs vertex_training.workers: Vertex AI '
                             'takes worker pools in the order chief, workers, parameter servers')
        if self.evaluator is not None:
            if self.workers is None or self.parameter_servers is None:
                raise ValueError('vertex_training.evaluator needs vertex_training.workers and '
                                 'vertex_training.parameter_servers: Vertex AI takes worker pools in the order '
                                 'chief, workers, parameter servers, evaluator')
            if self.evaluator.replica_count != 1:
                raise ValueError('vertex_training.evaluator.replica_count must be 1 (TensorFlow runs one '
                                 f'evaluator), got {self.evaluator.replica_count}')

    def pools_beside_the_chief(self) -> List[str]:
        """The configured pools other than the chief, as config keys (``vertex_training.workers``)."""
        return [f'vertex_training.{name}' for name in ('workers', 'parameter_servers', 'evaluator')
                if getattr(self, name) is not None]

    def custom_config(self, image: str) -> Dict[str, Any]:
        """The extension Trainer's custom_config keys (ours sit beside them under 'tke_trainer')."""
        pools = [self.chief] + [p for p in (self.workers, self.parameter_servers, self.evaluator) if p is not None]
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
    data = _check_keys(cls, data, where)  # unknown keys first, named
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in data]
    if missing:
        raise ValueError(f'{where}: missing {", ".join(f"{where}.{name}" for name in missing)} '
                         f'(required keys: {", ".join(required)})')
    try:
        return cls(**data)
    except TypeError as e:  # a value of the wrong type, met in __post_init__
        raise ValueError(f'{where}: {e}') from None


def _build_training(data: Optional[Dict[str, Any]]) -> Optional[VertexTrainingConfig]:
    if data is None:
        return None
    data = dict(_check_keys(VertexTrainingConfig, data, 'vertex_training'))
    for key in ('chief', 'workers', 'parameter_servers', 'evaluator'):
        if key in data:
            data[key] = _build(WorkerPoolConfig, data[key], f'vertex_training.{key}')
    return _build(VertexTrainingConfig, data, 'vertex_training')
