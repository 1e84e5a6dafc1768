"""Runs the pipeline on this machine: LocalDagRunner, MLMD in SQLite, Beam's DirectRunner (or
the runner that ``--beam-arg=--runner=...`` names: the orchestration stays here, the Beam work
goes there).

Everything a run writes lives under one run directory (default ``runs/<recipe>`` in the
current folder):

    pipeline/         TFX artifacts (pipeline root)
    metadata.sqlite   ML Metadata store (what ran, what was cached, lineage)
    serving/          models pushed by Pusher, one timestamped folder each
    tke.log           TensorFlow / absl / Beam logs
    tke-stack.json    the stack that owns it (legacy or modern): the other refuses it
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from tfx_keras_estimator import components
from tfx_keras_estimator.components.recipes.lookup import DEFAULT_RECIPE, load_recipe
from tfx_keras_estimator.components.recipes.registry import Recipe, check_recipe
from tfx_keras_estimator.components.trainer import stack
from tfx_keras_estimator.components.trainer.config import ESTIMATOR_MODE, KERAS_FILE_MODE, TrainerConfig
from tfx_keras_estimator.pipelines.config import PipelineConfig, beam_runner, check_beam_args, names_dependencies
from tfx_keras_estimator.pipelines.data import DataSummary, load_schema, validate_data_dir

BEAM_MODES = ('auto', 'in_memory', 'multi_threading', 'multi_processing')
# From this much CSV, Beam runs a worker per core. Threads, not processes: as fast at 100x the
# taxi data in less memory (each process worker holds its own TensorFlow). From 256 MB, not
# 64: below it in_memory is as fast as threads and peaks lower (figures: docs/performance.md).
# 256 MB is where FastCsvExampleGen starts converting in a process per worker (these modes only).
PARALLEL_MIN_BYTES = 256 * 1024 * 1024


@dataclass
class LocalRunConfig:
    """What ``tke run`` asks for. None means the recipe's default.

    ``recipe`` is what ``load_recipe`` takes: a built-in name, a dotted path to a Recipe
    object, or a recipe folder. The Trainer's settings here become the recipe's TrainerConfig;
    ``pipeline`` holds PipelineConfig's own settings (``train_steps``, ``eval_steps``,
    ``enable_cache``, ``warm_start``, ``anomaly_gate``, ``canned_baseline``,
    ``transform_materialize``, ``extra_beam_args``, ...), passed on as they are: one
    definition of each, PipelineConfig's, which checks them.
    """

    recipe: str = DEFAULT_RECIPE
    data_dir: Optional[str] = None
    output_dir: Optional[str] = None
    beam_mode: str = 'auto'
    model_builder: Optional[str] = None
    hparams: Dict[str, Any] = field(default_factory=dict)
    # Trainer mode (TrainerConfig.MODES); keras_model_path implies 'keras_file'.
    trainer_mode: str = ESTIMATOR_MODE
    keras_model_path: Optional[str] = None
    allow_unsafe_keras_file: bool = False
    pipeline: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        settable = {f.name for f in dataclasses.fields(PipelineConfig)} - set(_PREPARED)
        unknown = sorted(set(self.pipeline) - settable)
        if unknown:
            raise ValueError(f'unknown pipeline settings {unknown}; a local run sets {sorted(settable)}')

    @property
    def extra_beam_args(self) -> List[str]:
        """The user's Beam arguments (--beam-arg), after ours: PipelineConfig.extra_beam_args."""
        return list(self.pipeline.get('extra_beam_args', ()))


# The PipelineConfig fields ``prepare`` derives from the recipe, the data and the run directory.
_PREPARED = ('recipe', 'pipeline_root', 'data_root', 'schema_path', 'serving_dir', 'trainer', 'beam_pipeline_args',
             'data_rows')


@dataclass(frozen=True)
class RunPaths:
    run_dir: Path

    @property
    def pipeline_root(self) -> Path:
        return self.run_dir / 'pipeline'

    @property
    def metadata_path(self) -> Path:
        return self.run_dir / 'metadata.sqlite'

    @property
    def serving_dir(self) -> Path:
        return self.run_dir / 'serving'

    @property
    def log_path(self) -> Path:
        return self.run_dir / 'tke.log'

    @property
    def lock_path(self) -> Path:
        return self.run_dir / '.lock'

    @property
    def stack_path(self) -> Path:
        return self.run_dir / 'tke-stack.json'


class NotARunDirectory(ValueError):
    """A folder given as a run directory holds no metadata store."""


class OtherStackRunDirectory(ValueError):
    """A run directory written by the other stack (legacy or modern)."""


def run_dir_stack(paths: RunPaths) -> Optional[str]:
    """The stack that owns a run directory: its stamp; the legacy stack where a store has no
    stamp (run directories from before the modern stack); None for a new one."""
    if paths.stack_path.is_file():
        return json.loads(paths.stack_path.read_text())['stack']
    return stack.LEGACY if paths.metadata_path.is_file() else None


def check_stack(paths: RunPaths) -> None:
    """Refuses a run directory of the other stack before anything opens its store: the ML
    Metadata of TFX >= 1.16 would upgrade a 1.15 store, which the legacy stack then cannot read."""
    owner = run_dir_stack(paths)
    if owner is not None and owner != stack.current():
        why = (f'its {paths.stack_path.name} says so' if paths.stack_path.is_file() else
               f'its store has no {paths.stack_path.name}: written before the modern stack existed')
        raise OtherStackRunDirectory(
            f'run directory {paths.run_dir} belongs to the {owner} stack ({why}); this is the '
            f'{stack.describe()}, and its ML Metadata must not open (and upgrade) that store. Use the {owner} '
            f'environment ({stack.HOW_TO[owner]}), or choose another --output.')


def stamp_stack(paths: RunPaths) -> None:
    """Marks a new run directory as this stack's (before the first run writes its store)."""
    if not paths.stack_path.is_file():
        paths.stack_path.write_text(json.dumps({'stack': stack.current(), 'written by': stack.describe()}) + '\n')


def existing_run(run_dir: Path) -> RunPaths:
    """The paths of a run directory a run has written, for the commands that read one."""
    paths = RunPaths(Path(run_dir))
    if not paths.metadata_path.is_file():
        raise NotARunDirectory(f'{run_dir} is not a run directory: it has no {paths.metadata_path.name} '
                               '(tke run writes one)')
    check_stack(paths)
    return paths


def run_paths(config: LocalRunConfig, recipe: Recipe) -> RunPaths:
    out = config.output_dir or str(Path.cwd() / 'runs' / recipe.name)
    return RunPaths(Path(out).resolve())


def source_setup_file() -> Optional[Path]:
    """This package's setup.py when it runs from a source checkout (an editable install), else None.

    An installed wheel has none: a setup.py is not package data.
    """
    candidate = Path(components.__file__).resolve().parents[1] / 'setup.py'
    return candidate if candidate.is_file() and (candidate.parent / 'pyproject.toml').is_file() else None


def beam_args(mode: str, data_bytes: int, given: Sequence[str] = ()) -> List[str]:
    """Our Beam flags for a run here, before the user's (``given``, from --beam-arg).

    The DirectRunner's mode only where ``given`` leave the runner the local DirectRunner.
    ``--setup_file``, where there is one, names this package the way remote runners need it;
    locally it also spares TFX building a throw-away TFX sdist (~3 s) for every Beam component.
    An installed wheel has no setup.py: TFX then builds that sdist. Left out where ``given``
    already say how workers get their packages (``--sdk_container_image``, ``--extra_package``...).
    """
    if mode not in BEAM_MODES:
        raise ValueError(f'unknown Beam mode {mode!r}; choose one of {BEAM_MODES}')
    if mode == 'auto':
        mode = 'multi_threading' if data_bytes >= PARALLEL_MIN_BYTES else 'in_memory'
    args: List[str] = []
    if beam_runner(given).local:
        # 0: one worker (process or thread) per CPU.
        args = ([f'--direct_running_mode={mode}', '--direct_num_workers=0'] if mode != 'in_memory'
                else ['--direct_running_mode=in_memory', '--direct_num_workers=1'])
    setup_file = source_setup_file()
    if setup_file and not names_dependencies(given):
        args.append(f'--setup_file={setup_file}')
    return args


def _trainer_config(config: LocalRunConfig, recipe: Recipe) -> TrainerConfig:
    keras_model_path = None
    mode = config.trainer_mode
    if config.keras_model_path and mode != ESTIMATOR_MODE:
        raise ValueError(f'a Keras model file is converted as it is; it cannot be combined with mode {mode!r}')
    if config.keras_model_path:
        keras_model_path = str(Path(config.keras_model_path).resolve())
        mode = KERAS_FILE_MODE
        from tfx_keras_estimator.components.trainer.keras_file import check_keras_file  # imports TensorFlow

        # Refused here, before any component runs, if it carries code or is not a model.
        check_keras_file(keras_model_path, allow_code=config.allow_unsafe_keras_file)
    return recipe.trainer_config(model_builder=config.model_builder, hparams=dict(config.hparams), mode=mode,
                                 keras_model_path=keras_model_path,
                                 allow_unsafe_keras_file=config.allow_unsafe_keras_file)


def prepare(config: LocalRunConfig) -> tuple[PipelineConfig, RunPaths, DataSummary]:
    """Validates recipe and data and builds the PipelineConfig; starts nothing.

    The recipe's schema, data and code are checked here, so that a broken outside recipe
    fails before any component runs.
    """
    # The Beam arguments first: a wrong one is said before any data is read.
    check_beam_args(config.extra_beam_args)
    runner = beam_runner(config.extra_beam_args)
    if not runner.local and config.beam_mode != 'auto':
        raise ValueError(f'--beam-mode {config.beam_mode} is a mode of the local DirectRunner; --beam-arg names '
                         f'--runner={runner.given} ({runner.name}), which runs the Beam work elsewhere')
    recipe = load_recipe(config.recipe)
    data_dir = Path(config.data_dir).resolve() if config.data_dir else recipe.data_dir
    schema = load_schema(recipe.schema_path)
    summary = validate_data_dir(data_dir, recipe, schema)
    check_recipe(recipe, model_builder=config.model_builder, schema=schema)
    paths = run_paths(config, recipe)
    check_stack(paths)
    pipeline_config = PipelineConfig(
        recipe=recipe,
        pipeline_root=str(paths.pipeline_root),
        data_root=str(data_dir),
        schema_path=str(recipe.schema_path),
        serving_dir=str(paths.serving_dir),
        trainer=_trainer_config(config, recipe),
        beam_pipeline_args=beam_args(config.beam_mode, summary.bytes, config.extra_beam_args),
        data_rows=summary.rows,
        **config.pipeline,
    )
    return pipeline_config, paths, summary


class RunDirectoryBusy(RuntimeError):
    """Another run holds the run directory."""


@contextmanager
def run_lock(paths: RunPaths) -> Iterator[None]:
    """One run per run directory: a second one would interleave writes to the same store."""
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_path, 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirectoryBusy(
                f'run directory {paths.run_dir} is in use by another run; wait for it or '
                'choose another --output') from None
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_pipeline(pipeline_config: PipelineConfig, paths: RunPaths) -> None:
    """Runs the pipeline under the run directory's lock (blocking until it ends)."""
    from tfx import v1 as tfx

    from tfx_keras_estimator.pipelines.pipeline import create_pipeline

    with run_lock(paths):
        check_stack(paths)  # again under the lock: another run may have made it since
        stamp_stack(paths)
        metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(paths.metadata_path))
        tfx.orchestration.LocalDagRunner().run(create_pipeline(pipeline_config, metadata))
