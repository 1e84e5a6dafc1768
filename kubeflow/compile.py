"""Compiles the pipeline into a Kubeflow Pipelines v1 workflow or a Vertex AI (KFP v2) spec.

Both go through the same ``create_pipeline``; only the PipelineConfig differs from a
local run: every path is one inside the pipeline image (see the Dockerfile), or a URI.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tfx_keras_estimator.components.recipes.registry import Recipe, check_recipe
from tfx_keras_estimator.components.trainer.config import CANNED_MODE, ESTIMATOR_MODE, KERAS_FILE_MODE, KERAS_FIT_MODE
from tfx_keras_estimator.pipelines.config import PipelineConfig, beam_runner, names_dependencies

ENGINES = ('kubeflow', 'vertex')
# Where the pipeline image keeps its Python code: the Dockerfile installs this package's
# wheel there (pip install --target) and puts it on PYTHONPATH. Every file a compiled spec
# names (a recipe's schema, its shipped data) is there, laid out as it is on this machine
# relative to the folder its code is imported from. Your own recipes go there too
# (pip install --target /tke/site my_pkg, or COPY my_recipe /tke/site/my_recipe).
IMAGE_PROJECT_ROOT = '/tke'
IMAGE_SITE = f'{IMAGE_PROJECT_ROOT}/site'
SCHEMAS_PACKAGE = 'tfx_keras_estimator.schemas'
# The package's own wheel in the image, named as --extra_package where no container image is
# given: a runner other than Dataflow then ships it to its workers, and for Beam's DirectRunner
# in a pod it only spares TFX building a TFX sdist in every pod. Dataflow's workers run the
# image itself (--sdk_container_image) and import the code from IMAGE_SITE: no wheel is staged.
IMAGE_WHEEL_DIR = f'{IMAGE_PROJECT_ROOT}/dist'
COMPILE_ENV_HINT = ('the Kubeflow / Vertex compile environment has them: `make kfp-venv`, then '
                    '.venv-kfp/bin/tke compile ... (kfp 1.8 needs pydantic<2 and urllib3<2, so it is kept '
                    'out of the main stack)')


def image_wheel() -> str:
    """The path of this package's wheel in the image (its name carries the installed version)."""
    from importlib.metadata import version

    return f'{IMAGE_WHEEL_DIR}/tfx_keras_estimator-{version("tfx-keras-estimator")}-py3-none-any.whl'


def in_pod_beam_args(given: Sequence[str] = ()) -> List[str]:
    """Ours for a component in its pod, before the ``given`` ones (Dataflow's, then the user's):
    the DirectRunner's mode where they leave the runner the local DirectRunner, and the image's
    wheel unless they say how workers get their packages (Dataflow: --sdk_container_image)."""
    args = ['--direct_running_mode=in_memory', '--direct_num_workers=1'] if beam_runner(given).local else []
    return args + ([] if names_dependencies(given) else [f'--extra_package={image_wheel()}'])


class CompileEnvironmentMissing(RuntimeError):
    """kfp (v1) or kfp-pipeline-spec is not installed in this environment."""


@dataclass
class CompileConfig:
    """What ``tke compile`` / ``tke submit`` ask for: an engine, an image, and the pipeline's settings.

    Attributes:
      engine: 'kubeflow' (KFP v1 Argo YAML) or 'vertex' (KFP v2 pipeline JSON).
      image: the pipeline image every component runs in (``pipeline.cloud.image`` is set to it).
      pipeline: the same PipelineConfig as a local run. Its paths must be URIs or paths in the
        image; those left None become the recipe's own files in the image (``in_image``).
      output: the compiled file; default ``<pipeline name>.yaml`` / ``.json`` here.
    """

    engine: str
    image: str
    pipeline: PipelineConfig
    output: Optional[str] = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f'engine must be one of {ENGINES}, got {self.engine!r}')
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(f'image must be a container image reference, got {self.image!r}')
        for name in ('pipeline_root', 'data_root', 'schema_path', 'serving_dir'):
            value = getattr(self.pipeline, name)
            if value is not None and '://' not in value and not value.startswith(IMAGE_PROJECT_ROOT + '/'):
                raise ValueError(
                    f'{name} {value!r} is a path of this machine, which the pipeline\'s pods do not have: '
                    f'give a URI (gs://bucket/...) or a path inside the image ({IMAGE_PROJECT_ROOT}/...)')
        if self.engine == 'vertex' and not self.pipeline.pipeline_root.startswith('gs://'):
            raise ValueError(f'Vertex AI Pipelines needs a gs:// pipeline root, got {self.pipeline.pipeline_root!r}')
        check_training_pools(self.pipeline)

    def output_path(self, pipeline_name: str) -> Path:
        suffix = '.yaml' if self.engine == 'kubeflow' else '.json'
        return Path(self.output or f'{pipeline_name}{suffix}')


def check_training_pools(pipeline: PipelineConfig) -> None:
    """Refuses Vertex AI Training pools beside the chief for a Trainer mode that runs on the chief alone.

    keras_fit trains, and keras_file converts, in one process; in a cluster the other
    replicas would only wait for the chief (paid for, idle). Estimator modes divide the
    training between the chief and the workers (each reads its own part of the data).
    """
    training = pipeline.cloud.vertex_training
    mode = pipeline.trainer_config.mode
    if training is None or mode not in (KERAS_FIT_MODE, KERAS_FILE_MODE):
        return
    extra = training.pools_beside_the_chief()
    if extra:
        raise ValueError(
            f'Trainer mode {mode!r} runs on the chief alone, so {" and ".join(extra)} would only wait for it: '
            'remove them (keep vertex_training.chief, with an accelerator if you like), or use mode '
            f"{ESTIMATOR_MODE!r} (or {CANNED_MODE!r}), which trains on the chief and every worker")


def import_base(recipe: Recipe) -> Path:
    """The folder the recipe's code is imported from (a site-packages, or a recipe folder's parent).

    Its files keep their place relative to it in the image's IMAGE_SITE.
    """
    module = _recipe_module(recipe)
    spec = importlib.util.find_spec(module)
    root = recipe.schema_path.parent.resolve()
    if spec is not None and spec.origin:
        base = Path(spec.origin).resolve().parents[module.count('.')]
        if root.is_relative_to(base):
            return base
    # A recipe folder whose code lives elsewhere: the folder itself goes to IMAGE_SITE.
    return root.parent


def _recipe_module(recipe: Recipe) -> str:
    return recipe.preprocessing_fn.rpartition(':')[0] or recipe.preprocessing_fn.rpartition('.')[0]


def _package_home(path: Path, recipe: Recipe) -> Optional[Tuple[str, Path]]:
    """(dotted package, its folder here): the outermost package of the recipe's code (or the
    built-in schemas' package) whose folder holds ``path``. A package's folder need not be named
    as it imports: ``components/`` here is ``tfx_keras_estimator/components`` installed
    (setup.py's package_dir)."""
    parts = _recipe_module(recipe).split('.')
    # The built-in recipes' schemas are package data of their own package.
    for package in [*('.'.join(parts[:i]) for i in range(1, len(parts) + 1)), SCHEMAS_PACKAGE]:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            folder = Path(location).resolve()
            if path.is_relative_to(folder):
                return package, folder
    return None


def in_image(path: Path, recipe: Recipe) -> str:
    """A file of the recipe as the pipeline image has it: inside a package of its code, at the
    package's dotted path; anything else at its place relative to where the code imports from."""
    path = path.resolve()
    home = _package_home(path, recipe)
    if home:
        package, folder = home
        return f"{IMAGE_SITE}/{package.replace('.', '/')}/{path.relative_to(folder).as_posix()}"
    return f'{IMAGE_SITE}/{path.relative_to(import_base(recipe)).as_posix()}'


def pipeline_config(config: CompileConfig) -> PipelineConfig:
    """The PipelineConfig of a compiled run: paths in the image or URIs, none of this machine."""
    settings = config.pipeline
    recipe = settings.recipe
    cloud = dataclasses.replace(settings.cloud, image=config.image)
    given = dataclasses.replace(settings, cloud=cloud).given_beam_args
    return dataclasses.replace(
        settings,
        data_root=settings.data_root or in_image(recipe.data_dir, recipe),
        schema_path=settings.schema_path or in_image(recipe.schema_path, recipe),
        serving_dir=settings.resolved_serving_dir,
        beam_pipeline_args=[*settings.beam_pipeline_args, *in_pod_beam_args(given)],
        # KubeflowV2DagRunner compiles only TFX's built-in resolver strategies.
        baseline_strategy='latest_blessed' if config.engine == 'vertex' else settings.baseline_strategy,
        cloud=cloud,
    )


def image_check_command(recipe_ref: str) -> str:
    """What to run in an image built FROM ours that adds your recipe: fails the build if it cannot import."""
    return f'python -m tfx_keras_estimator.kubeflow.image_check --recipe {recipe_ref}'


def _require(modules: List[str], what: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m.split('.')[0]) is None
               or importlib.util.find_spec(m) is None]
    if missing:
        raise CompileEnvironmentMissing(f'{what} needs {", ".join(missing)}, which this Python lacks; '
                                        + COMPILE_ENV_HINT)


def check_environment(engine: str) -> None:
    """Fails fast (before importing TensorFlow) where the compiler is not installed."""
    from tfx_keras_estimator.components.trainer import stack

    if engine == 'kubeflow' and stack.current() == stack.MODERN:
        raise stack.StackError(
            f'the Kubeflow Pipelines v1 compile needs the legacy stack (TFX >= 1.16 has no KubeflowDagRunner); '
            f'this is the {stack.describe()}. Compile it in the legacy compile environment (`make kfp-venv`, then '
            '.venv-kfp/bin/tke compile --engine kubeflow ...); --engine vertex compiles here too.')
    if engine == 'kubeflow':
        _require(['kfp.compiler', 'kfp.pipeline_spec'], 'the Kubeflow Pipelines v1 compile')
    else:
        _require(['kfp.pipeline_spec'], 'the Vertex AI (KFP v2) compile')


def compile_pipeline(config: CompileConfig) -> Path:
    """Writes the compiled spec and returns its path."""
    check_environment(config.engine)
    from tfx_keras_estimator.pipelines.cloud_wiring import runtime_parameter_defaults
    from tfx_keras_estimator.pipelines.pipeline import create_pipeline

    spec_config = pipeline_config(config)
    check_recipe(spec_config.recipe)  # its code imports here, before the image has to
    pipeline = create_pipeline(spec_config)
    output = config.output_path(pipeline.pipeline_info.pipeline_name)
    output.parent.mkdir(parents=True, exist_ok=True)
    if config.engine == 'kubeflow':
        _compile_kubeflow(pipeline, config.image, output)
    else:
        _compile_vertex(pipeline, config.image, output, runtime_parameter_defaults(spec_config))
    return output


def _compile_kubeflow(pipeline, image: str, output: Path) -> None:
    from tfx import v1 as tfx

    experimental = tfx.orchestration.experimental
    runner_config = experimental.KubeflowDagRunnerConfig(
        kubeflow_metadata_config=experimental.get_default_kubeflow_metadata_config(), tfx_image=image)
    # The file name's suffix picks the format: .yaml writes the Argo workflow itself.
    experimental.KubeflowDagRunner(
        config=runner_config, output_dir=str(output.parent), output_filename=output.name).run(pipeline)


def _compile_vertex(pipeline, image: str, output: Path, parameter_defaults: Dict[str, str]) -> None:
    from tfx import v1 as tfx

    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=str(output.parent), output_filename=output.name)
    # Schema 2.0 keeps parameter defaults in runtimeConfig, which comes from these values.
    runner.run(pipeline, parameter_values=parameter_defaults)
