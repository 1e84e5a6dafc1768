"""Compile the one pipeline (``tfx_keras_estimator.pipelines.pipeline.create_pipeline``) for Kubeflow Pipelines
(v1 Argo YAML) and Vertex AI Pipelines (KFP v2 JSON), and submit it to Vertex AI.

The repository's ``kubeflow/`` folder, installed as ``tfx_keras_estimator.kubeflow``: inside our
namespace it cannot shadow the Kubeflow project's own top-level ``kubeflow`` (the ``kubeflow``
SDK, kubeflow-katib, kubeflow-metadata), nor be shadowed by it.
"""
