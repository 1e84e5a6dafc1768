"""Typed configuration of one pipeline, shared by every runner (local, Kubeflow, Vertex)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple, Union

from tfx_keras_estimator.components.recipes.lookup import load_recipe
from tfx_keras_estimator.components.recipes.registry import Recipe
from tfx_keras_estimator.components.trainer.config import NATIVE_MODES, TrainerConfig
from tfx_keras_estimator.components.trainer.stack import MODERN, STACKS, legacy_only
from tfx_keras_estimator.components.trainer.stack import current as current_stack
from tfx_keras_estimator.pipelines.cloud import CloudConfig, check_beam_arg

if TYPE_CHECKING:  # imports Beam, only where a runner is asked for
    from tfx_keras_estimator.components.beam_runners import Runner

TRAINER_RUN_FN = 'tfx_keras_estimator.components.trainer.run_fn'
# Node ids the run report and tke runs look up in the metadata store.
TRAINER_ID = 'Trainer'
# TFX's Tuner: wired where the recipe lists candidate models (it picks one for the Trainer).
TUNER_ID = 'Tuner'
TUNER_FN = 'tfx_keras_estimator.components.trainer.tuning.tuner_fn'
EVALUATOR_ID = 'Evaluator'
# Node ids of the optional canned baseline (create_pipeline wires them, the run report skips them).
CANNED_TRAINER_ID = 'CannedTrainer'
CANNED_COMPARISON_ID = 'CannedComparison'
ANOMALY_GATE_SETTINGS = ('error', 'warning', 'off')
# The exit code of every tke command for bad input (a file, row, field or option named), before anything runs.
EXIT_BAD_INPUT = 2
# 'latest_blessed_other': ours (tfx_keras_estimator.components.baseline), a re-run is cached end to end;
# 'latest_blessed': TFX's built-in strategy, the only kind KubeflowV2DagRunner (Vertex) compiles.
BASELINE_STRATEGIES = ('latest_blessed_other', 'latest_blessed')


@dataclass
class EvalSplitConfig:
    """ExampleGen's hash split: train:eval buckets (TFX's default 2:1)."""

    train_buckets: int = 2
    eval_buckets: int = 1

    def __post_init__(self) -> None:
        if self.train_buckets < 1 or self.eval_buckets < 1:
            raise ValueError(f'split buckets must be positive, got train {self.train_buckets} '
                             f'and eval {self.eval_buckets}')


@dataclass
class PipelineConfig:
    """Everything ``create_pipeline`` needs; nothing is read from globals or the environment.

    Attributes:
      recipe: the Recipe, or what ``load_recipe`` takes: a built-in name (``tke recipes``
        lists them), a dotted path to a Recipe object, or a recipe folder.
      pipeline_root: where TFX writes artifacts (a local path or a bucket URI).
      data_root: the data folder (CSV files, or TFRecord files of tf.Examples for a
        'tfrecord' recipe); None means the recipe's own ``data_dir``.
      schema_path: the schema ImportSchemaGen reads; None means the recipe's own.
      serving_dir: Pusher's filesystem destination; None means ``<pipeline_root>/serving``.
      train_steps, eval_steps: None means the recipe's defaults.
      trainer: run_fn settings (task spec, model builder, hyperparameters, cadence); None
        means the recipe's (``Recipe.trainer_config()``). Its task spec must be the recipe's:
        Transform runs the recipe's preprocessing_fn, so the Trainer must train on its label.
      pipeline_name: defaults to ``tke-<recipe>``.
      beam_pipeline_args: the package's own Beam arguments for where it runs (the DirectRunner's
        mode, how the workers get this package); ``resolved_beam_pipeline_args`` adds the rest.
      extra_beam_args: the user's Beam arguments (``--beam-arg``), each ``--name=value`` or a
        Beam switch alone (``--save_main_session``), passed to every Beam-based component after
        all of ours, so that they win (Beam takes the last ``--runner``, say).
      enable_cache: reuse results of executions whose inputs did not change.
      warm_start: wire the latest trained model into the Trainer as its base model.
      anomaly_gate: stop the run before Transform when ExampleValidator finds anomalies
        of this severity or worse: 'error' (default), 'warning', or 'off'.
      transform_tf_compat_v1: build the transform graph in TF1 mode (no tf.function
        tracing: much faster analysis; the Estimator serving graph is TF1 anyway).
      transform_statistics: let Transform compute pre/post-transform statistics
        (StatisticsGen already covers the raw data).
      transform_materialize: Transform writes transformed examples and the Trainer reads
        them (True), or Transform only analyzes and the Trainer applies the transform graph
        to ExampleGen's examples as it reads them, as serving does (False, default: one pass
        over the data less: Transform at 100x the taxi data well under half as long;
        docs/performance.md). Worth turning on when the transform is costly and
        training makes many passes over the same rows.
      split: ExampleGen's train:eval hash buckets; None means the recipe's
        (``Recipe.split_buckets``).
      baseline_strategy: the Evaluator's baseline resolver: 'latest_blessed_other' (ours,
        default) or 'latest_blessed' (TFX's built-in; needed for Vertex AI Pipelines).
      runtime_parameters: train steps, eval steps and data root become RuntimeParameters
        of the compiled Kubeflow / Vertex spec (LocalDagRunner does not support them).
      cloud: pipeline image and scale-out (Dataflow, Vertex AI Training, Vertex endpoint).
      data_rows: how many rows the data holds (tke run's data check counts them); with a
        recipe's ``train_epochs``, the default train steps follow it. None (compiling for a
        cluster, where the data is not read): the recipe's ``train_steps``.
      stack: the stack the components run on, ``legacy`` (TFX 1.15, the Estimator) or ``modern``
        (TFX >= 1.16, native Keras): default, the one installed here (``trainer/stack.py``). It
        picks the Evaluator's model signature; what only the legacy stack has is refused on the other.
      canned_baseline: also train the recipe's pre-made Estimator (``Recipe.canned_estimator``:
        LinearRegressor/LinearClassifier or the DNN ones) on the same Transform output, and
        evaluate the Keras model against it side by side (a second Evaluator; it gates nothing).
    """

    recipe: Union[Recipe, str]
    pipeline_root: str
    data_root: Optional[str] = None
    schema_path: Optional[str] = None
    serving_dir: Optional[str] = None
    train_steps: Optional[int] = None
    eval_steps: Optional[int] = None
    trainer: Optional[TrainerConfig] = None
    pipeline_name: Optional[str] = None
    beam_pipeline_args: List[str] = field(default_factory=list)
    extra_beam_args: List[str] = field(default_factory=list)
    enable_cache: bool = True
    warm_start: bool = False
    anomaly_gate: str = 'error'
    transform_tf_compat_v1: bool = True
    transform_statistics: bool = False
    transform_materialize: bool = False
    split: Optional[EvalSplitConfig] = None
    baseline_strategy: str = 'latest_blessed_other'
    runtime_parameters: bool = False
    cloud: CloudConfig = field(default_factory=CloudConfig)
    canned_baseline: bool = False
    data_rows: Optional[int] = None
    stack: str = field(default_factory=current_stack)

    @property
    def name(self) -> str:
        return self.pipeline_name or f'tke-{self.recipe.name}'

    @property
    def trainer_config(self) -> TrainerConfig:
        return self.trainer or self.recipe.trainer_config()

    @property
    def resolved_data_root(self) -> str:
        return self.data_root or str(self.recipe.data_dir)

    @property
    def resolved_schema_path(self) -> str:
        return self.schema_path or str(self.recipe.schema_path)

    @property
    def resolved_serving_dir(self) -> str:
        return self.serving_dir or f'{self.pipeline_root.rstrip("/")}/serving'

    @property
    def given_beam_args(self) -> List[str]:
        """The Beam arguments asked for: Dataflow's (``cloud.dataflow``), then the user's."""
        dataflow = self.cloud.dataflow.beam_pipeline_args(self.cloud.image) if self.cloud.dataflow else []
        return [*dataflow, *self.extra_beam_args]

    @property
    def resolved_beam_pipeline_args(self) -> List[str]:
        """What every Beam-based component gets: ours, then the given ones (the last of a name wins)."""
        return [*self.beam_pipeline_args, *self.given_beam_args]

    @property
    def runner(self) -> 'Runner':
        """The Beam runner the components run on, by Beam's rules (``tfx_keras_estimator.components.beam_runners``)."""
        return beam_runner(self.resolved_beam_pipeline_args)

    def __post_init__(self) -> None:
        self.recipe = load_recipe(self.recipe)
        if self.trainer is not None and self.trainer.task != self.recipe.task_spec:
            own = self.recipe.task_spec
            differs = {k: (getattr(self.trainer.task, k), getattr(own, k)) for k in own.__dataclass_fields__
                       if getattr(self.trainer.task, k) != getattr(own, k) and k != 'weight_labels'}
            if differs:
                raise ValueError(
                    f'the Trainer\'s task spec differs from recipe {self.recipe.name!r}\'s, whose preprocessing_fn '
                    f'Transform runs: (trainer, recipe) per field {differs}. Build the TrainerConfig with '
                    f'recipe.trainer_config(...)')
        kept = self.trainer_config.eval_features
        missing = [] if kept is None else sorted(set(self.recipe.slice_features) - set(kept))
        if missing:
            raise ValueError(f'the Evaluator slices on {missing}, which the Trainer\'s eval_features '
                             f'{list(kept)} leave out of the eval model')
        for name in ('train_steps', 'eval_steps'):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f'{name} must be at least 1, got {value!r}')
        if self.anomaly_gate not in ANOMALY_GATE_SETTINGS:
            raise ValueError(f'anomaly_gate must be one of {ANOMALY_GATE_SETTINGS}, got {self.anomaly_gate!r}')
        if self.baseline_strategy not in BASELINE_STRATEGIES:
            raise ValueError(
                f'baseline_strategy must be one of {BASELINE_STRATEGIES}, got {self.baseline_strategy!r}')
        check_beam_args(self.extra_beam_args)
        if self.stack not in STACKS:
            raise ValueError(f'stack must be one of {STACKS}, got {self.stack!r}')
        if self.stack == MODERN and self.canned_baseline:
            raise legacy_only("the canned baseline (the recipe's pre-made Estimator)")
        if self.stack == MODERN and self.trainer_config.mode not in NATIVE_MODES:
            raise legacy_only(f'Trainer mode {self.trainer_config.mode!r}')
        training = self.cloud.vertex_training
        if self.stack == MODERN and training and (training.parameter_servers or training.evaluator):
            # The native trainer's cluster is synchronous (MultiWorkerMirroredStrategy): chief and workers.
            raise legacy_only('vertex_training.parameter_servers and vertex_training.evaluator (the Estimator\'s '
                              'asynchronous training; on the modern stack a chief and workers train together)')

    def resolved_split(self) -> EvalSplitConfig:
        if self.split is not None:
            return self.split
        train, eval_ = self.recipe.split_buckets
        return EvalSplitConfig(train_buckets=train, eval_buckets=eval_)

    def resolved_train_steps(self) -> int:
        return self.train_steps_and_why()[0]

    def train_steps_and_why(self) -> Tuple[int, str]:
        """The train steps, and where they come from (``tke run`` shows it in its first lines).

        Asked-for steps win; else, with the recipe's ``train_epochs`` and the data's row
        count, enough steps for that many passes over the expected training rows (the hash
        split's train share), never fewer than the recipe's ``train_steps``.
        """
        if self.train_steps is not None:
            return self.train_steps, 'as asked'
        recipe = self.recipe
        if recipe.train_epochs is None or self.data_rows is None:
            return recipe.train_steps, f"the recipe's {recipe.train_steps}"
        split = self.resolved_split()
        train_rows = round(self.data_rows * split.train_buckets / (split.train_buckets + split.eval_buckets))
        batch = self.trainer_config.batch_size
        for_epochs = math.ceil(recipe.train_epochs * train_rows / batch)
        epochs = f'{recipe.train_epochs:g} epoch(s) of ~{train_rows:,} train rows at batch {batch}'
        if for_epochs <= recipe.train_steps:
            return recipe.train_steps, f"the recipe's least; {epochs} would be {for_epochs}"
        return for_epochs, epochs

    def resolved_eval_steps(self) -> int:
        return self.eval_steps if self.eval_steps is not None else self.recipe.eval_steps


def check_beam_args(args: Sequence[str], option: str = '--beam-arg') -> None:
    """ValueError naming ``option`` for an argument Beam would not parse as one option
    (``cloud.check_beam_arg``), or for a ``--runner`` Beam does not know."""
    for arg in args:
        check_beam_arg(arg, option)
    if any(arg.startswith('--runner=') for arg in args):
        try:
            beam_runner(args)
        except ValueError as e:
            raise ValueError(f'{option}: {e}') from None


def beam_runner(args: Sequence[str]) -> 'Runner':
    """The runner ``args`` name (the last ``--runner``; none: the DirectRunner), as a ValueError
    naming ``--runner`` when Beam does not know it."""
    from tfx_keras_estimator.components.beam_runners import runner_of  # imports Beam's options (~2 s): only when asked

    return runner_of(args)


# Beam arguments that give the workers their Python packages: with any of them, TFX stages
# nothing of its own (tfx.utils.dependency_utils), and neither do we.
DEPENDENCY_OPTIONS = ('extra_packages', 'setup_file', 'requirements_file', 'sdk_container_image',
                      'worker_harness_container_image')


def names_dependencies(args: Sequence[str]) -> bool:
    """Whether ``args`` already say how the workers get their packages (TFX's own test)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(list(args)).get_all_options()
    return any(options.get(name) for name in DEPENDENCY_OPTIONS)
