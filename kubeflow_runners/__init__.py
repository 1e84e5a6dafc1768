"""Compile the one pipeline (``pipelines.pipeline.create_pipeline``) for Kubeflow Pipelines
(v1 Argo YAML) and Vertex AI Pipelines (KFP v2 JSON), and submit it to Vertex AI.

Named ``kubeflow_runners``, not ``kubeflow``: ``kubeflow`` is the import name of the
Kubeflow project's own SDKs (the ``kubeflow`` SDK, kubeflow-katib, kubeflow-metadata,
kubeflow-fairing), which a package of ours would shadow or be shadowed by.
"""
