# The pipeline image: every component of the compiled Kubeflow / Vertex AI pipeline runs in
# it (and Dataflow workers and Vertex AI Training replicas, when configured).
# Build: make image IMAGE=REGISTRY/tke:TAG   (docker build -t REGISTRY/tke:TAG .)
FROM tensorflow/tfx:1.15.1

# Dataflow's custom-container contract: the image starts the Beam SDK harness through the
# base image's boot (TFX copies it from apache/beam_python3.10_sdk of the Beam it installs).
# Said again here so that no later change of base image loses it; the components' pods and
# Vertex AI Training name their own command and are not affected.
ENTRYPOINT ["/opt/apache/beam/boot"]

WORKDIR /tke

# The pinned stack first (its own layer, rebuilt only when the lock changes). --no-deps:
# the lock pins every package, so nothing beyond it is resolved or upgraded.
COPY requirements.lock ./
RUN python -c "import sys; assert sys.version_info[:2] == (3, 10), sys.version"
# The boot above is built for the base image's Beam: the lock must pin that same apache-beam,
# or Dataflow's workers would start an SDK of another version than the one that launched them.
RUN test -x /opt/apache/beam/boot \
 && python -c "import re, apache_beam as b; \
pin = re.search(r'^apache-beam==(\S+)', open('requirements.lock').read(), re.M).group(1); \
assert b.__version__ == pin, f'the base image has apache-beam {b.__version__}, the lock pins {pin}'"
RUN python -m pip install --no-cache-dir --no-deps -r requirements.lock

# This package as a wheel, installed non-editable: the built-in recipes' schemas and data are
# package data inside it. Paths inside the image are part of the compiled spec
# (tfx_keras_estimator.kubeflow.compile.IMAGE_SITE, IMAGE_WHEEL_DIR): the code and its files under
# /tke/site, the wheel itself in /tke/dist. Dataflow's workers run this image
# (--sdk_container_image) and import the code from /tke/site: no wheel is staged or installed.
# The wheel is named as --extra_package only where no container image is given (another Beam
# runner's workers; for the DirectRunner in a pod it spares TFX building an sdist).
# An image of your own adds recipes the same way: FROM this image, then
# `pip install --no-deps --target /tke/site my_pkg` or `COPY my_recipe /tke/site/my_recipe`,
# then `python -m tfx_keras_estimator.kubeflow.image_check --recipe ...`.
COPY pyproject.toml setup.py README.md ./
COPY components/ components/
COPY pipelines/ pipelines/
COPY kubeflow/ kubeflow/
COPY schemas/ schemas/
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation -w /tke/dist . \
 && python -m pip install --no-cache-dir --no-deps --target /tke/site /tke/dist/*.whl \
 && rm -rf build components pipelines kubeflow
ENV PYTHONPATH=/tke/site
RUN python -m tfx_keras_estimator.kubeflow.image_check
