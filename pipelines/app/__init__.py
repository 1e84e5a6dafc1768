"""The local application over the pipeline definition: the ``tke`` CLI, ``tke init``, the local
runner, the run report, ``tke predict``, serving-folder integrity, retention (``tke gc``) and
TensorBoard. It imports the definition (``pipelines``) and the Kubeflow/Vertex runners
(``kubeflow``, for ``tke compile | submit``); neither imports it."""
