"""Quality of every recipe at its real step counts, beside its pre-made Estimator baseline.

Runs each recipe's full pipeline (recipe defaults, shipped data, fresh run
directories) with the canned baseline on (the legacy stack only: the modern one has no
Estimator), and prints a table of eval metrics:
the Keras model's (as gated by the Evaluator), the canned Estimator's on the
same data and steps, the recipe's target and the seeds' published figure where
there is one. Also writes the numbers as JSON.

    .venv/bin/python bench/quality.py [--recipes housing,text,...] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from tfx_keras_estimator.components.recipes import get_recipe, recipe_names
from tfx_keras_estimator.components.trainer import stack
from tfx_keras_estimator.pipelines.app.local_runner import LocalRunConfig, prepare, run_pipeline
from tfx_keras_estimator.pipelines.app.report import latest_run

# What the issue asks of each recipe, and what the seeds (the Keras/Estimator posts)
# report on their own (larger) data sets, for context.
TARGETS = {'housing': 'rmse <= 4.5', 'taxi': 'auc >= TFX example', 'digits': 'accuracy >= 0.97',
           'text': 'accuracy >= 0.85', 'mobilenet': 'blessed'}
SEEDS = {'text': 'Stack Overflow BoW 0.81', 'digits': 'MNIST CNN 0.99 (full MNIST)'}


def run_recipe(work: Path, name: str) -> Dict:
    canned = stack.current() == stack.LEGACY
    config, paths, data = prepare(LocalRunConfig(recipe=name, output_dir=str(work / name),
                                                  pipeline={'canned_baseline': canned}))
    started = time.monotonic()
    run_pipeline(config, paths)
    seconds = time.monotonic() - started
    report = latest_run(str(paths.metadata_path), config.name)
    recipe = get_recipe(name)
    metric = recipe.gate.metric
    return {
        'recipe': name, 'stack': stack.describe(), 'metric': metric, 'train_steps': config.resolved_train_steps(),
        'rows': data.rows,
        'keras': report.metrics.get(metric), 'canned': report.canned_metrics.get(metric),
        'canned_kind': recipe.canned_estimator, 'blessed': report.blessed, 'seconds': round(seconds, 1),
        'all_keras_metrics': report.metrics, 'all_canned_metrics': report.canned_metrics,
    }


def _fmt(value) -> str:
    return '-' if value is None else f'{value:.4f}'


def print_table(rows: List[Dict]) -> None:
    print(f'\n{"recipe":<10} {"metric":<9} {"steps":>6} {"keras":>8} {"canned":>8} {"blessed":>8} '
          f'{"seconds":>8}  target / seeds')
    for r in rows:
        context = ' / '.join(x for x in (TARGETS.get(r['recipe']), SEEDS.get(r['recipe'])) if x)
        print(f'{r["recipe"]:<10} {r["metric"]:<9} {r["train_steps"]:>6} {_fmt(r["keras"]):>8} '
              f'{_fmt(r["canned"]):>8} {str(r["blessed"]):>8} {r["seconds"]:>8.0f}  {context}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--recipes', default=','.join(recipe_names()))
    parser.add_argument('--work', help='where the run directories go (default: a new temporary folder)')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix='tke-quality-'))
    rows = []
    for name in args.recipes.split(','):
        print(f'running {name} ...', flush=True)
        rows.append(run_recipe(work, name))
        print_table(rows[-1:])
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
