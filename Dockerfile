# The pipeline image: every component of the compiled Kubeflow / Vertex AI pipeline runs in
# it (and Dataflow workers and Vertex AI Training replicas, when configured).
# Build: make image IMAGE=REGISTRY/tke:TAG   (docker build -t REGISTRY/tke:TAG .)
FROM tensorflow/tfx:1.15.1

WORKDIR /tke

# The pinned stack first (its own layer, rebuilt only when the lock changes). --no-deps:
# the lock pins every package, so nothing beyond it is resolved or upgraded.
COPY requirements.lock ./
RUN python -c "import sys; assert sys.version_info[:2] == (3, 10), sys.version" \
 && python -m pip install --no-cache-dir --no-deps -r requirements.lock

# This package as a wheel, installed non-editable: the built-in recipes' schemas and data are
# package data inside it. Paths inside the image are part of the compiled spec
# (kubeflow_runners.compile.IMAGE_SITE, IMAGE_WHEEL_DIR): the code and its files under
# /tke/site, the wheel itself in /tke/dist (Dataflow workers install it: --extra_package).
# An image of your own adds recipes the same way: FROM this image, then
# `pip install --no-deps --target /tke/site my_pkg` or `COPY my_recipe /tke/site/my_recipe`,
# then `python -m kubeflow_runners.image_check --recipe ...`.
COPY pyproject.toml setup.py README.md ./
COPY components/ components/
COPY pipelines/ pipelines/
COPY kubeflow_runners/ kubeflow_runners/
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation -w /tke/dist . \
 && python -m pip install --no-cache-dir --no-deps --target /tke/site /tke/dist/*.whl \
 && rm -rf build components pipelines kubeflow_runners
ENV PYTHONPATH=/tke/site
RUN python -m kubeflow_runners.image_check
