"""What the Trainer needs to know about the problem: the task spec it owns.

A recipe (or a pipeline you wrote yourself) fills one in; ``run_fn`` reads nothing
else about the problem. No TensorFlow here: the command line builds specs without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

REGRESSION = 'regression'
BINARY_CLASSIFICATION = 'binary_classification'
MULTICLASS_CLASSIFICATION = 'multiclass_classification'
TASKS = (REGRESSION, BINARY_CLASSIFICATION, MULTICLASS_CLASSIFICATION)
# Pre-made Estimators that mode 'canned' trains on the same Transform output.
CANNED_ESTIMATORS = ('linear', 'dnn')


@dataclass(frozen=True)
class TaskSpec:
    """The problem as the Trainer sees it.

    Attributes:
      label_key: the raw label column; the serving signature takes every raw feature but it.
      transformed_label_key: the label's Transform output key (what the model is trained on).
      task: one of TASKS; picks loss, metrics and the classify/regress signature.
      class_labels: class names in index order, for the classification signature (default
        '0', '1', ...); a multiclass task needs them to size the pre-made Estimator.
      prediction_key: the Keras output layer's name, which is the Estimator's prediction key.
      weight_labels: for linear models, dotted path of ``labels(tf_transform_output)`` -> one
        label per input of the output unit; run_fn then stores the labelled weights.
      canned_estimator: the pre-made Estimator of mode 'canned': 'linear' or 'dnn'.
    """

    label_key: str
    transformed_label_key: str
    task: str
    class_labels: Tuple[str, ...] = ()
    prediction_key: str = 'prediction'
    weight_labels: Optional[str] = None
    canned_estimator: str = 'linear'

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f'task {self.task!r} is not one of {TASKS}')
        if self.canned_estimator not in CANNED_ESTIMATORS:
            raise ValueError(f'canned_estimator {self.canned_estimator!r} is not one of {CANNED_ESTIMATORS}')
        if not self.label_key or not self.transformed_label_key:
            raise ValueError('a task spec needs a label_key and a transformed_label_key')
        # JSON (custom_config) brings lists back; the spec compares and hashes as a tuple.
        object.__setattr__(self, 'class_labels', tuple(str(c) for c in self.class_labels))
        if self.task == BINARY_CLASSIFICATION and self.class_labels and len(self.class_labels) != 2:
            raise ValueError(f'a binary task has two class labels, got {list(self.class_labels)}')

    @property
    def num_classes(self) -> Optional[int]:
        if self.task == REGRESSION:
            return None
        if self.task == BINARY_CLASSIFICATION:
            return 2
        return len(self.class_labels) or None
