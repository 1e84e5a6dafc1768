# The pipeline image: every component of the compiled Kubeflow / Vertex AI pipeline runs in
# it (and Dataflow workers and Vertex AI Training replicas, when configured).
# Build: make image IMAGE=REGISTRY/tke:TAG   (docker build -t REGISTRY/tke:TAG .)
FROM tensorflow/tfx:1.15.1

# Paths inside the image are part of the compiled spec (kubeflow_runners.compile.IMAGE_PROJECT_ROOT):
# the schema that ImportSchemaGen reads, the shipped data, setup.py for Beam.
WORKDIR /tke

# The pinned stack first (its own layer, rebuilt only when the lock changes). --no-deps:
# the lock pins every package, so nothing beyond it is resolved or upgraded.
COPY requirements.lock ./
RUN python -c "import sys; assert sys.version_info[:2] == (3, 10), sys.version" \
 && python -m pip install --no-cache-dir --no-deps -r requirements.lock

# This package, editable: components/pipelines/kubeflow_runners import from /tke, so that
# the recipes' schemas/ and data/ sit where the code expects them.
COPY pyproject.toml setup.py README.md ./
COPY components/ components/
COPY pipelines/ pipelines/
COPY kubeflow_runners/ kubeflow_runners/
COPY schemas/ schemas/
COPY data/ data/
RUN python -m pip install --no-cache-dir --no-deps -e . \
 && python -m kubeflow_runners.image_check
