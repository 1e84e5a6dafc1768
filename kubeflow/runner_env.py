"""Configuration of the runner files (``vertex_runner.py``, ``kubeflow_v1_runner.py``) from the
environment, for ``tfx pipeline compile --engine vertex|kubeflow --pipeline_path FILE``.

The tfx CLI passes no arguments to a pipeline file, so these variables are the edge where a
compile is configured (create_pipeline itself reads nothing from the environment):

  TKE_PIPELINE_ROOT (required)  TKE_IMAGE (required)  TKE_RECIPE (default housing; any --recipe value)
  TKE_DATA_ROOT  TKE_SERVING_DIR  TKE_TRAIN_STEPS  TKE_EVAL_STEPS  TKE_OUTPUT  TKE_CLOUD_CONFIG (JSON file)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Optional

from tfx_keras_estimator.components.recipes.lookup import DEFAULT_RECIPE
from tfx_keras_estimator.kubeflow.compile import CompileConfig
from tfx_keras_estimator.pipelines.cloud import CloudConfig
from tfx_keras_estimator.pipelines.config import PipelineConfig


def _int(env: Mapping[str, str], name: str) -> Optional[int]:
    value = env.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'{name} must be an integer, got {value!r}') from None


def config_from_env(engine: str, env: Mapping[str, str]) -> CompileConfig:
    missing = [name for name in ('TKE_PIPELINE_ROOT', 'TKE_IMAGE') if not env.get(name)]
    if missing:
        raise ValueError(f'set {" and ".join(missing)} (see kubeflow/runner_env.py)')
    image = env['TKE_IMAGE']
    cloud = CloudConfig()
    if env.get('TKE_CLOUD_CONFIG'):
        cloud = CloudConfig.from_dict({**json.loads(Path(env['TKE_CLOUD_CONFIG']).read_text()), 'image': image})
    pipeline = PipelineConfig(
        recipe=env.get('TKE_RECIPE') or DEFAULT_RECIPE, pipeline_root=env['TKE_PIPELINE_ROOT'],
        data_root=env.get('TKE_DATA_ROOT') or None, serving_dir=env.get('TKE_SERVING_DIR') or None,
        train_steps=_int(env, 'TKE_TRAIN_STEPS'), eval_steps=_int(env, 'TKE_EVAL_STEPS'), cloud=cloud)
    return CompileConfig(engine=engine, image=image, pipeline=pipeline, output=env.get('TKE_OUTPUT') or None)
