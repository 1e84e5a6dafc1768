"""Compiles the pipeline into a Kubeflow Pipelines v1 workflow or a Vertex AI (KFP v2) spec.

Both go through the same ``create_pipeline``; only the PipelineConfig differs from a
local run: every path is one inside the pipeline image (see the Dockerfile), or a URI.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from components.recipes.registry import PROJECT_ROOT, get_recipe
from pipelines.cloud import CloudConfig
from pipelines.config import PipelineConfig

ENGINES = ('kubeflow', 'vertex')
# The Dockerfile's WORKDIR: the package, schemas/ and data/ live there in the image.
IMAGE_PROJECT_ROOT = '/tke'
# Every component runs in the pipeline image; Beam's DirectRunner inside the pod unless
# Dataflow is configured. --setup_file (a path in the image) spares TFX building a TFX
# sdist for Beam in every pod.
IN_POD_BEAM_ARGS = ['--direct_running_mode=in_memory', '--direct_num_workers=1',
                    f'--setup_file={IMAGE_PROJECT_ROOT}/setup.py']
COMPILE_ENV_HINT = ('the Kubeflow / Vertex compile environment has them: `make kfp-venv`, then '
                    '.venv-kfp/bin/tke compile ... (kfp 1.8 needs pydantic<2 and urllib3<2, so it is kept '
                    'out of the main stack)')


class CompileEnvironmentMissing(RuntimeError):
    """kfp (v1) or kfp-pipeline-spec is not installed in this environment."""


@dataclass
class CompileConfig:
    """What ``tke compile`` / ``tke submit`` ask for.

    Attributes:
      engine: 'kubeflow' (KFP v1 Argo YAML) or 'vertex' (KFP v2 pipeline JSON).
      recipe, pipeline_root, image: the recipe, where artifacts go (a gs:// URI on Vertex),
        the pipeline image every component runs in.
      data_root: default the recipe's shipped data inside the image.
      serving_dir: Pusher's folder; default ``<pipeline_root>/serving``.
      runtime_parameters: data root, train and eval steps as parameters of the spec.
      cloud: scale-out options; ``cloud.image`` is set to ``image``.
      output: the compiled file; default ``<pipeline name>.yaml`` / ``.json`` here.
      canned_baseline: also train the recipe's pre-made Estimator and compare (PipelineConfig).
    """

    engine: str
    recipe: str
    pipeline_root: str
    image: str
    data_root: Optional[str] = None
    serving_dir: Optional[str] = None
    train_steps: Optional[int] = None
    eval_steps: Optional[int] = None
    pipeline_name: Optional[str] = None
    enable_cache: bool = True
    runtime_parameters: bool = True
    cloud: CloudConfig = field(default_factory=CloudConfig)
    output: Optional[str] = None
    canned_baseline: bool = False

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f'engine must be one of {ENGINES}, got {self.engine!r}')
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(f'image must be a container image reference, got {self.image!r}')
        for name in ('pipeline_root', 'data_root', 'serving_dir'):
            value = getattr(self, name)
            if value is not None and '://' not in value and not value.startswith(IMAGE_PROJECT_ROOT + '/'):
                raise ValueError(
                    f'{name} {value!r} is a path of this machine, which the pipeline\'s pods do not have: '
                    f'give a URI (gs://bucket/...) or a path inside the image ({IMAGE_PROJECT_ROOT}/...)')
        if self.engine == 'vertex' and not self.pipeline_root.startswith('gs://'):
            raise ValueError(f'Vertex AI Pipelines needs a gs:// pipeline root, got {self.pipeline_root!r}')
        for name in ('train_steps', 'eval_steps'):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f'{name} must be at least 1, got {value}')

    def output_path(self, pipeline_name: str) -> Path:
        suffix = '.yaml' if self.engine == 'kubeflow' else '.json'
        return Path(self.output or f'{pipeline_name}{suffix}')


def in_image(path: Path) -> str:
    """A file of this repository as the pipeline image has it."""
    return f'{IMAGE_PROJECT_ROOT}/{path.resolve().relative_to(PROJECT_ROOT).as_posix()}'


def pipeline_config(config: CompileConfig) -> PipelineConfig:
    """The PipelineConfig of a compiled run: paths in the image or URIs, none of this machine."""
    recipe = get_recipe(config.recipe)
    cloud = dataclasses.replace(config.cloud, image=config.image)
    return PipelineConfig(
        recipe=recipe.name,
        pipeline_root=config.pipeline_root,
        data_root=config.data_root or in_image(recipe.data_dir),
        schema_path=in_image(recipe.schema_path),
        serving_dir=config.serving_dir or f'{config.pipeline_root.rstrip("/")}/serving',
        train_steps=config.train_steps,
        eval_steps=config.eval_steps,
        pipeline_name=config.pipeline_name,
        beam_pipeline_args=[] if cloud.dataflow else list(IN_POD_BEAM_ARGS),
        enable_cache=config.enable_cache,
        # KubeflowV2DagRunner compiles only TFX's built-in resolver strategies.
        baseline_strategy='latest_blessed' if config.engine == 'vertex' else 'latest_blessed_other',
        runtime_parameters=config.runtime_parameters,
        cloud=cloud,
        canned_baseline=config.canned_baseline,
    )


def _require(modules: List[str], what: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m.split('.')[0]) is None
               or importlib.util.find_spec(m) is None]
    if missing:
        raise CompileEnvironmentMissing(f'{what} needs {", ".join(missing)}, which this Python lacks; '
                                        + COMPILE_ENV_HINT)


def check_environment(engine: str) -> None:
    """Fails fast (before importing TensorFlow) where the compiler is not installed."""
    if engine == 'kubeflow':
        _require(['kfp.compiler', 'kfp.pipeline_spec'], 'the Kubeflow Pipelines v1 compile')
    else:
        _require(['kfp.pipeline_spec'], 'the Vertex AI (KFP v2) compile')


def compile_pipeline(config: CompileConfig) -> Path:
    """Writes the compiled spec and returns its path."""
    check_environment(config.engine)
    from pipelines.cloud_wiring import runtime_parameter_defaults
    from pipelines.pipeline import create_pipeline

    spec_config = pipeline_config(config)
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
