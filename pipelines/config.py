"""Typed configuration of one pipeline, shared by every runner (local, Kubeflow, Vertex)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from components.recipes.registry import Recipe, get_recipe
from components.trainer.config import TrainerConfig
from pipelines.cloud import CloudConfig

TRAINER_RUN_FN = 'components.trainer.run_fn'
# Node ids of the optional canned baseline (create_pipeline wires them, the run report skips them).
CANNED_TRAINER_ID = 'CannedTrainer'
CANNED_COMPARISON_ID = 'CannedComparison'
ANOMALY_GATE_SETTINGS = ('error', 'warning', 'off')
# 'latest_blessed_other': ours (components.baseline), a re-run is cached end to end;
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
      recipe: recipe name (``tke recipes`` lists them).
      pipeline_root: where TFX writes artifacts (a local path or a bucket URI).
      data_root: folder of CSV files with the recipe's columns.
      schema_path: the checked-in schema (``schemas/<recipe>/schema.pbtxt``).
      serving_dir: Pusher's filesystem destination.
      train_steps, eval_steps: None means the recipe's defaults.
      trainer: run_fn settings (model builder override, hyperparameters, cadence).
      pipeline_name: defaults to ``tke-<recipe>``.
      beam_pipeline_args: passed to every Beam-based component.
      enable_cache: reuse results of executions whose inputs did not change.
      warm_start: wire the latest trained model into the Trainer as its base model.
      anomaly_gate: stop the run before Transform when ExampleValidator finds anomalies
        of this severity or worse: 'error' (default), 'warning', or 'off'.
      transform_tf_compat_v1: build the transform graph in TF1 mode (no tf.function
        tracing: much faster analysis; the Estimator serving graph is TF1 anyway).
      transform_statistics: let Transform compute pre/post-transform statistics
        (StatisticsGen already covers the raw data).
      split: ExampleGen's train:eval hash buckets; None means the recipe's
        (``Recipe.split_buckets``).
      baseline_strategy: the Evaluator's baseline resolver: 'latest_blessed_other' (ours,
        default) or 'latest_blessed' (TFX's built-in; needed for Vertex AI Pipelines).
      runtime_parameters: train steps, eval steps and data root become RuntimeParameters
        of the compiled Kubeflow / Vertex spec (LocalDagRunner does not support them).
      cloud: pipeline image and scale-out (Dataflow, Vertex AI Training, Vertex endpoint).
      canned_baseline: also train the recipe's pre-made Estimator (LinearRegressor,
        LinearClassifier, or DNN ones) on the same Transform output, and evaluate the
        Keras model against it side by side (a second Evaluator; it gates nothing).
    """

    recipe: str
    pipeline_root: str
    data_root: str
    schema_path: str
    serving_dir: str
    train_steps: Optional[int] = None
    eval_steps: Optional[int] = None
    trainer: Optional[TrainerConfig] = None
    pipeline_name: Optional[str] = None
    beam_pipeline_args: List[str] = field(default_factory=list)
    enable_cache: bool = True
    warm_start: bool = False
    anomaly_gate: str = 'error'
    transform_tf_compat_v1: bool = True
    transform_statistics: bool = False
    split: Optional[EvalSplitConfig] = None
    baseline_strategy: str = 'latest_blessed_other'
    runtime_parameters: bool = False
    cloud: CloudConfig = field(default_factory=CloudConfig)
    canned_baseline: bool = False

    @property
    def recipe_spec(self) -> Recipe:
        return get_recipe(self.recipe)

    @property
    def name(self) -> str:
        return self.pipeline_name or f'tke-{self.recipe}'

    @property
    def trainer_config(self) -> TrainerConfig:
        return self.trainer or TrainerConfig(recipe=self.recipe)

    def __post_init__(self) -> None:
        if self.anomaly_gate not in ANOMALY_GATE_SETTINGS:
            raise ValueError(f'anomaly_gate must be one of {ANOMALY_GATE_SETTINGS}, got {self.anomaly_gate!r}')
        if self.baseline_strategy not in BASELINE_STRATEGIES:
            raise ValueError(
                f'baseline_strategy must be one of {BASELINE_STRATEGIES}, got {self.baseline_strategy!r}')

    def resolved_split(self) -> EvalSplitConfig:
        if self.split is not None:
            return self.split
        train, eval_ = self.recipe_spec.split_buckets
        return EvalSplitConfig(train_buckets=train, eval_buckets=eval_)

    def resolved_train_steps(self) -> int:
        return self.train_steps if self.train_steps is not None else self.recipe_spec.train_steps

    def resolved_eval_steps(self) -> int:
        return self.eval_steps if self.eval_steps is not None else self.recipe_spec.eval_steps
