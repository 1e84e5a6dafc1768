"""Which model the Evaluator compares a candidate with.

TFX's LatestBlessedModelStrategy returns the latest blessed model, which after an
unchanged re-run is the candidate itself: the Evaluator then re-evaluates the model
against itself (its inputs changed, so no cache hit) and Pusher pushes the same
model a second time. Our baseline is the latest blessed model *other than the
candidate*, so a re-run with nothing changed resolves the same inputs as the run
that produced the candidate, and is served from the cache end to end.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from tfx import v1 as tfx

MODEL_KEY = 'model'
BLESSING_KEY = 'model_blessing'
CANDIDATE_KEY = 'candidate'


def pick_baseline(models: List[tfx.types.Artifact], blessings: List[tfx.types.Artifact],
                  candidates: List[tfx.types.Artifact]) -> Dict[str, List[tfx.types.Artifact]]:
    candidate_ids = {c.id for c in candidates}
    blessing_by_model = {b.get_int_custom_property('current_model_id'): b
                         for b in blessings if b.get_int_custom_property('blessed') == 1}
    eligible = [m for m in models if m.id in blessing_by_model and m.id not in candidate_ids]
    # Every input key must be in the result (TFX looks each one up).
    if not eligible:
        return {MODEL_KEY: [], BLESSING_KEY: [], CANDIDATE_KEY: list(candidates)}
    latest = max(eligible, key=lambda m: m.id)
    return {MODEL_KEY: [latest], BLESSING_KEY: [blessing_by_model[latest.id]], CANDIDATE_KEY: list(candidates)}


class LatestBlessedOtherModelStrategy(tfx.dsl.experimental.ResolverStrategy):
    """Resolves the latest blessed Model that is not the current candidate.

    Inputs: ``model`` (Model channel), ``model_blessing`` (ModelBlessing channel) and
    ``candidate`` (the Trainer's output, which also makes the resolver wait for it).
    """

    def resolve_artifacts(self, store, input_dict: Dict[str, List[tfx.types.Artifact]]
                          ) -> Optional[Dict[str, List[tfx.types.Artifact]]]:
        return pick_baseline(input_dict.get(MODEL_KEY, []), input_dict.get(BLESSING_KEY, []),
                             input_dict.get(CANDIDATE_KEY, []))
