"""The generic model's default hyperparameters, as ``tke init`` writes them into a recipe
(plain Python, so that ``tke init`` needs no TensorFlow to write them).

The model builder falls back to ``hidden_units``, ``dropout`` and ``l2`` here. The
optimizer and learning rate are the Trainer's, which compiles the model: a recipe that
names the generic builder without them gets the Trainer's own defaults (Adam, 0.001).

Dropout 0.3 and L2 1e-3 are stronger than the usual defaults on purpose: the tables people
start from are small, and on the init bench's six (110 to 10,000 training rows) they were
as good or better than dropout 0.1 and L2 1e-4 on five and steadier from seed to seed (see
the README's init bench).
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

DEFAULT_HPARAMS: Dict[str, Any] = {
    'optimizer': 'Adam',
    'learning_rate': 0.003,
    'hidden_units': [64, 32],
    'dropout': 0.3,
    'l2': 0.001,
}

# The models ``tke init`` lists for TFX's Tuner to choose from (each over DEFAULT_HPARAMS): the
# wide & deep model, and its wide part alone, a linear model. Small tables that are close to
# linear (a few hundred rows, mostly categorical) are where the deep part costs more than it adds.
CANDIDATES: Tuple[Tuple[str, Dict[str, Any]], ...] = (
    ('wide & deep: [hparams] as they are', {}),
    ('the wide part alone: a linear model over the numbers and the one-hot categories', {'hidden_units': []}),
)
