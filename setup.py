"""One import package, ``tfx_keras_estimator``, from the design card's folders at the repository's
root: ``components/``, ``pipelines/``, ``kubeflow/`` and ``schemas/`` install as
``tfx_keras_estimator.components``, ``.pipelines``, ``.kubeflow`` and ``.schemas`` (setuptools
``package_dir``), so the repository keeps the card's top level and a project with its own
``components/`` or ``pipelines/`` never meets ours in site-packages. ``tfx_keras_estimator``
itself is a namespace package: no folder of its own.

Also what Beam's ``--setup_file`` builds for workers. The rest is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

NAMESPACE = 'tfx_keras_estimator'
FOLDERS = ('components', 'pipelines', 'kubeflow', 'schemas')

setup(
    packages=[f'{NAMESPACE}.{package}' for folder in FOLDERS
              for package in [folder] + [f'{folder}.{sub}' for sub in find_packages(folder)]],
    package_dir={f'{NAMESPACE}.{folder}': folder for folder in FOLDERS},
    # The built-in recipes' schemas and shipped data, found through importlib.resources.
    package_data={f'{NAMESPACE}.schemas': ['*.pbtxt'], f'{NAMESPACE}.components.recipes': ['*/data/*']},
)
