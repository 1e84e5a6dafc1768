"""Submits a compiled Vertex AI pipeline spec through ``google.cloud.aiplatform.PipelineJob``.

Building the job is offline (the template is read from the local file, nothing is
sent); only ``submit`` talks to Vertex AI, with the caller's application-default
credentials unless others are given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional


@dataclass
class SubmitConfig:
    """Where and how to run a compiled spec on Vertex AI Pipelines.

    Attributes:
      parameter_values: runtime parameters, overriding the spec's defaults.
      enable_caching: None keeps what the spec says (the pipeline's enable_cache).
    """

    project: str
    region: str
    service_account: Optional[str] = None
    display_name: Optional[str] = None
    parameter_values: Dict[str, Any] = field(default_factory=dict)
    enable_caching: Optional[bool] = None

    def __post_init__(self) -> None:
        for name in ('project', 'region'):
            if not getattr(self, name):
                raise ValueError(f'submit needs a {name}')


def spec_parameters(template_path: Path) -> Dict[str, Any]:
    """The compiled spec's runtime parameters with their defaults."""
    spec = json.loads(Path(template_path).read_text())
    runtime = spec.get('runtimeConfig', {})
    declared = spec['pipelineSpec']['root'].get('inputDefinitions', {}).get('parameters', {})
    defaults = {k: next(iter(v.values())) for k, v in runtime.get('parameters', {}).items()}
    defaults.update(runtime.get('parameterValues', {}))
    return {name: defaults.get(name) for name in declared}


def build_job(template_path: Path, pipeline_root: str, config: SubmitConfig, credentials: Any = None):
    """The PipelineJob that ``submit`` would send (nothing is sent here)."""
    from google.cloud import aiplatform

    declared = spec_parameters(template_path)
    unknown = sorted(set(config.parameter_values) - set(declared))
    if unknown:
        raise ValueError(f'unknown pipeline parameter(s) {unknown}; the spec has {sorted(declared)}')
    spec = json.loads(Path(template_path).read_text())
    return aiplatform.PipelineJob(
        display_name=config.display_name or spec.get('displayName') or spec['pipelineSpec']['pipelineInfo']['name'],
        template_path=str(template_path),
        pipeline_root=pipeline_root,
        parameter_values=dict(config.parameter_values),
        enable_caching=config.enable_caching,
        project=config.project,
        location=config.region,
        credentials=credentials,
    )


def describe(job) -> Dict[str, Any]:
    """What would be submitted: display name, template, parameters, pipeline root, place."""
    resource = job._gca_resource  # noqa: SLF001 - aiplatform keeps the unsent request only here
    runtime = resource.runtime_config
    parameters = {k: _value(v) for k, v in runtime.parameters.items()}
    parameters.update({k: _value(v) for k, v in runtime.parameter_values.items()})
    return {
        'display_name': resource.display_name,
        'template': resource.pipeline_spec['pipelineInfo']['name'],
        'parameters': parameters,
        'pipeline_root': runtime.gcs_output_directory,
        'project': job.project,
        'location': job.location,
    }


def _value(value: Any) -> Any:
    """A KFP Value / protobuf Value as plain Python."""
    for attr in ('string_value', 'int_value', 'double_value'):
        if attr in value:
            return getattr(value, attr)
    return value


def submit(job, service_account: Optional[str]) -> str:
    """Sends the job to Vertex AI; returns its resource name."""
    job.submit(service_account=service_account)
    return job.resource_name
