"""Time to quality: our taxi pipeline vs TFX's own Chicago taxi Estimator example.

Runs, in one invocation and on the same data (the taxi recipe's data), from fresh directories:
  1. the anchor: tfx.examples.chicago_taxi_pipeline.taxi_pipeline_local from the
     installed tfx package, with its own defaults (10,000 train steps of batch 40,
     5,000 eval steps, its module file), Beam in_memory (its faster mode here) or
     multi_processing (--anchor-beam);
  2. ours: `tke run --recipe taxi` settings (recipe defaults);
  3. ours: the housing recipe, for its eval RMSE.
Prints wall times, their ratio, per-component times (from MLMD), and eval AUC and
accuracy of both taxi models. Goal: our AUC >= the anchor's in <= 0.5x its wall time.

    .venv/bin/python bench/taxi_vs_tfx.py [--work DIR] [--anchor-beam in_memory|multi_processing]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.local_runner import LocalRunConfig, prepare, run_pipeline
from tfx_keras_estimator.pipelines.app.report import RunReport, latest_run

ANCHOR_NAME = 'chicago_taxi_beam'
BEAM_ARGS = {
    'in_memory': ['--direct_running_mode=in_memory', '--direct_num_workers=1'],
    'multi_processing': ['--direct_running_mode=multi_processing', '--direct_num_workers=0'],
}


def run_anchor(work: Path, data_dir: Path, beam_mode: str) -> Tuple[float, RunReport]:
    from tfx import v1 as tfx
    from tfx.examples.chicago_taxi_pipeline import taxi_pipeline_local as anchor

    root = work / 'anchor'
    pipeline = anchor._create_pipeline(  # noqa: SLF001 - the example's own builder, its defaults
        pipeline_name=ANCHOR_NAME,
        pipeline_root=str(root / 'pipeline'),
        data_root=str(data_dir),
        module_file=str(Path(anchor.__file__).with_name('taxi_utils.py')),
        serving_model_dir=str(root / 'serving'),
        metadata_path=str(root / 'metadata.sqlite'),
        beam_pipeline_args=BEAM_ARGS[beam_mode])
    started = time.monotonic()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    return time.monotonic() - started, latest_run(str(root / 'metadata.sqlite'), ANCHOR_NAME)


def run_ours(work: Path, recipe: str) -> Tuple[float, RunReport]:
    pipeline_config, paths, _ = prepare(LocalRunConfig(recipe=recipe, output_dir=str(work / recipe)))
    started = time.monotonic()
    run_pipeline(pipeline_config, paths)
    return time.monotonic() - started, latest_run(str(paths.metadata_path), pipeline_config.name)


def _components(report: RunReport) -> Dict[str, float]:
    return {c.node_id: c.seconds for c in report.components}


def _table(reports: Dict[str, Tuple[float, RunReport]]) -> List[str]:
    names = list(reports)
    nodes: List[str] = []
    for _, report in reports.values():
        nodes += [c.node_id for c in report.components if c.node_id not in nodes]
    lines = [f'{"component":<34}' + ''.join(f'{n:>14}' for n in names)]
    for node in nodes:
        cells = [_components(r).get(node) for _, r in reports.values()]
        lines.append(f'{node:<34}' + ''.join(f'{c:>13.1f}s' if c is not None else f'{"-":>14}' for c in cells))
    lines.append(f'{"wall (whole run)":<34}' + ''.join(f'{w:>13.1f}s' for w, _ in reports.values()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', help='working directory (default: a fresh temporary one)')
    parser.add_argument('--anchor-beam', choices=sorted(BEAM_ARGS), default='in_memory')
    parser.add_argument('--skip-anchor', action='store_true', help='only run our pipelines')
    args = parser.parse_args()
    import absl.logging

    absl.logging.set_verbosity(absl.logging.WARNING)
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    work = Path(args.work or tempfile.mkdtemp(prefix='tke-bench-'))
    work.mkdir(parents=True, exist_ok=True)
    print(f'working directory: {work}', flush=True)

    results: Dict[str, Tuple[float, RunReport]] = {}
    if not args.skip_anchor:
        results['tfx-anchor'] = run_anchor(work, get_recipe('taxi').data_dir, args.anchor_beam)
        print(f'anchor done in {results["tfx-anchor"][0]:.1f} s', flush=True)
    results['tke-taxi'] = run_ours(work, 'taxi')
    print(f'tke taxi done in {results["tke-taxi"][0]:.1f} s', flush=True)
    housing_wall, housing = run_ours(work, 'housing')

    print()
    print('\n'.join(_table(results)))
    print()
    for name, (_, report) in results.items():
        m = report.metrics
        examples = m.get('example_count', m.get('post_export_metrics/example_count', 0))
        print(f'{name:<12} eval AUC {m.get("auc", float("nan")):.4f}  accuracy '
              f'{m.get("accuracy", float("nan")):.4f}  examples {examples:.0f}  blessed {report.blessed}')
    if 'tfx-anchor' in results:
        ours_wall, ours = results['tke-taxi']
        anchor_wall, anchor = results['tfx-anchor']
        ratio = ours_wall / anchor_wall
        auc_ok = ours.metrics.get('auc', 0) >= anchor.metrics.get('auc', 1)
        print(f'\nwall-time ratio tke/anchor ({args.anchor_beam}): {ratio:.2f}  (goal <= 0.5: '
              f'{"met" if ratio <= 0.5 else "not met"}); AUC >= anchor: {"yes" if auc_ok else "no"}')
    print(f'housing: eval RMSE {housing.metrics.get("rmse", float("nan")):.3f} (goal <= 4.5) '
          f'in {housing_wall:.1f} s, blessed {housing.blessed}')


if __name__ == '__main__':
    main()
