"""Vertex AI Pipelines (KFP v2 JSON) runner file, also for the tfx CLI:

    TKE_PIPELINE_ROOT=gs://BUCKET/tke TKE_IMAGE=REGISTRY/tke:TAG \\
      tfx pipeline compile --engine vertex --pipeline_path kubeflow/vertex_runner.py

Variables: kubeflow/runner_env.py. ``tke compile --engine vertex`` does the same.
"""

import os

from tfx_keras_estimator.kubeflow.compile import compile_pipeline
from tfx_keras_estimator.kubeflow.runner_env import config_from_env

if __name__ == '__main__':
    print(f'compiled: {compile_pipeline(config_from_env("vertex", os.environ))}')
