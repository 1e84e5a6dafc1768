"""Kubeflow Pipelines v1 (Argo workflow YAML) runner file, also for the tfx CLI:

    TKE_PIPELINE_ROOT=gs://BUCKET/tke TKE_IMAGE=REGISTRY/tke:TAG \\
      tfx pipeline compile --engine kubeflow --pipeline_path kubeflow/kubeflow_v1_runner.py

Variables: kubeflow/runner_env.py. ``tke compile --engine kubeflow`` does the same.
"""

import os

from tfx_keras_estimator.kubeflow.compile import compile_pipeline
from tfx_keras_estimator.kubeflow.runner_env import config_from_env

if __name__ == '__main__':
    print(f'compiled: {compile_pipeline(config_from_env("kubeflow", os.environ))}')
