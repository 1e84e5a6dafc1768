"""The Trainer's configuration, carried in the Trainer component's ``custom_config``.

TFX serialises ``custom_config`` as JSON, so this is a plain dataclass with a
round trip through ``to_custom_config`` / ``from_custom_config``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from tfx_keras_estimator.components.trainer.task import TaskSpec

CUSTOM_CONFIG_KEY = 'tke_trainer'

# Optimizers the Trainer may compile with. Only tf.keras.optimizers.legacy keeps
# its settings through model_to_estimator (TF >= 2.11 optimizers lose them).
OPTIMIZERS = ('Adam', 'Adagrad', 'Adadelta', 'Ftrl', 'RMSprop', 'SGD')

# How the Estimator gets its weights:
#   estimator:  model_to_estimator(keras_model=...), trained with train_and_evaluate;
#   keras_fit:  Keras fit with EarlyStopping/ModelCheckpoint, then the best model file is
#               converted with model_to_estimator(keras_model_path=...) and exported;
#   keras_file: a saved, trained Keras model file is converted and exported as it is;
#   canned:     no Keras model: the task's pre-made Estimator (the baseline to beat).
ESTIMATOR_MODE = 'estimator'
KERAS_FIT_MODE = 'keras_fit'
KERAS_FILE_MODE = 'keras_file'
CANNED_MODE = 'canned'
MODES = (ESTIMATOR_MODE, KERAS_FIT_MODE, KERAS_FILE_MODE, CANNED_MODE)
# The modes the modern stack (no Estimator) trains natively in Keras: the recipe's model, Keras'
# own loop (components/trainer/native.py); the others need the legacy stack.
NATIVE_MODES = (ESTIMATOR_MODE, KERAS_FIT_MODE)


# hparams without batch_size train in batches of this many examples.
DEFAULT_BATCH_SIZE = 64


@dataclass
class TrainerConfig:
    """What ``run_fn`` needs beyond ``fn_args``: the problem, the model and the cadence.

    Attributes:
      task: the task spec (label, task, classes, prediction key); see ``TaskSpec``.
      model_builder: dotted path of ``build(tf_transform_output, hparams) -> tf.keras.Model``,
        importable where the Trainer runs; needed except in modes 'keras_file' and 'canned'.
      name: what the model is called in messages (a recipe's name, say).
      hparams: model and training hyperparameters. Known training keys:
        ``batch_size``, ``eval_batch_size``, ``optimizer``, ``learning_rate``;
        everything is passed to the model builder too.
      save_checkpoints_steps: checkpoint cadence; None picks ~10 checkpoints per run.
      keep_checkpoint_max: how many checkpoints to keep in the model run directory.
      save_summary_steps: TensorBoard summary cadence.
      eval_throttle_secs: minimum seconds between evaluations during training.
      random_seed: graph-level seed, for repeatable runs.
      checkpoint_root: where checkpoints live while training (set by create_pipeline to
        ``<pipeline_root>/checkpoints``). Each training gets a folder keyed by its inputs,
        code and settings, so a Trainer that was killed and is run again finds its
        checkpoints and resumes. None: checkpoints go straight to the model run directory.
      code_fingerprint: hash of the Trainer's code (set by create_pipeline); part of
        TFX's cache key, so changed code is never served from a stale cache.
      mode: 'estimator' (default), 'keras_fit', 'keras_file' or 'canned' (see MODES above).
        keras_fit reads the hparams ``steps_per_epoch`` and ``early_stopping_patience``.
      keras_model_path: the saved Keras model (.h5, .keras or SavedModel folder) that
        'keras_file' converts; it must take the transformed features.
      allow_unsafe_keras_file: load a Keras file even if it carries Python code (Lambda
        layers), which loading runs. Off: such a file is refused before it is loaded.
      eval_features: the raw features the EvalSavedModel hands TFMA (beside the serialized
        examples its model_fn transforms): what the Evaluator slices on. None: every raw
        feature, so any slice works; but TFMA splits each batch per example, feature by
        feature: on taxi's eval rows TFMA took twice as long with all raw features as with
        its one slice feature.
      raw_examples: the Trainer's ``examples`` are ExampleGen's raw ones (Transform ran with
        ``materialize=False``): the input_fn applies the transform graph as it reads them,
        as the serving graph does. False: they are Transform's ``transformed_examples``.
      candidates: models to choose from, each a dict of hparams overriding ``hparams`` (``{}``:
        ``hparams`` as they are). TFX's Tuner trains each and picks one (``tuning.tuner_fn``);
        run_fn then trains the pick. Only for the modes that build a model.
    """

    task: TaskSpec
    model_builder: Optional[str] = None
    name: str = 'model'
    hparams: Dict[str, Any] = field(default_factory=dict)
    save_checkpoints_steps: Optional[int] = None
    keep_checkpoint_max: int = 3
    save_summary_steps: int = 100
    eval_throttle_secs: int = 60
    random_seed: Optional[int] = 42
    checkpoint_root: Optional[str] = None
    code_fingerprint: Optional[str] = None
    mode: str = ESTIMATOR_MODE
    keras_model_path: Optional[str] = None
    allow_unsafe_keras_file: bool = False
    eval_features: Optional[Tuple[str, ...]] = None
    raw_examples: bool = False
    candidates: Tuple[Dict[str, Any], ...] = ()

    @property
    def batch_size(self) -> int:
        return int(self.hparams.get('batch_size', DEFAULT_BATCH_SIZE))

    def __post_init__(self) -> None:
        if isinstance(self.task, dict):  # from JSON (custom_config)
            self.task = TaskSpec(**self.task)
        if not isinstance(self.task, TaskSpec):
            raise ValueError(f'TrainerConfig.task must be a TaskSpec, got {type(self.task).__name__}')
        if self.mode not in MODES:
            raise ValueError(f'Trainer mode {self.mode!r} is not one of {MODES}')
        if self.eval_features is not None:
            if isinstance(self.eval_features, str):
                raise ValueError(f'eval_features is a list of feature names, got the string {self.eval_features!r}')
            self.eval_features = tuple(self.eval_features)  # a list after JSON (custom_config)
        if (self.mode == KERAS_FILE_MODE) != bool(self.keras_model_path):
            raise ValueError(f'keras_model_path is needed by, and only by, mode {KERAS_FILE_MODE!r} '
                             f'(mode {self.mode!r}, keras_model_path {self.keras_model_path!r})')
        if self.mode == KERAS_FILE_MODE and self.model_builder:
            raise ValueError('mode keras_file converts a saved model; a model_builder would be ignored')
        self.candidates = tuple(self.candidates)  # a list after JSON (custom_config)
        if any(not isinstance(c, dict) for c in self.candidates):
            raise ValueError(f'candidates are dicts of hparams, one per model to try; got {list(self.candidates)!r}')
        if len(self.candidates) == 1:
            raise ValueError('one candidate leaves nothing to choose: give two or more, or none (train hparams)')
        if self.candidates and self.mode in (KERAS_FILE_MODE, CANNED_MODE):
            raise ValueError(f'mode {self.mode!r} builds no model: candidates (models to choose from) do not apply')
        if self.mode not in (KERAS_FILE_MODE, CANNED_MODE) and not self.model_builder:
            raise ValueError(f'mode {self.mode!r} trains a Keras model: TrainerConfig needs a model_builder '
                             '(dotted path of build(tf_transform_output, hparams) -> tf.keras.Model)')

    def to_custom_config(self) -> Dict[str, Any]:
        # Namespaced: TFX extensions (e.g. Vertex AI Training) add keys of their own.
        return {CUSTOM_CONFIG_KEY: dataclasses.asdict(self)}

    @classmethod
    def from_custom_config(cls, custom_config: Optional[Dict[str, Any]]) -> 'TrainerConfig':
        ours = (custom_config or {}).get(CUSTOM_CONFIG_KEY)
        if not isinstance(ours, dict) or not isinstance(ours.get('task'), dict):
            raise ValueError(
                f"Trainer custom_config needs {{'{CUSTOM_CONFIG_KEY}': {{'task': {{...}}, ...}}}} "
                f'(build it with TrainerConfig(...).to_custom_config()); got {custom_config!r}')
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(ours) - known)
        if unknown:
            raise ValueError(
                f'unknown Trainer config keys {unknown}; known keys: {sorted(known)}')
        task_known = {f.name for f in dataclasses.fields(TaskSpec)}
        task_unknown = sorted(set(ours['task']) - task_known)
        if task_unknown:
            raise ValueError(f'unknown task spec keys {task_unknown}; known keys: {sorted(task_known)}')
        return cls(**ours)
