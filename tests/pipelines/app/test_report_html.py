"""The report's plots and page pieces; the whole page of a real run is tested in
tests/e2e/test_report.py (with a browser)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tfx_keras_estimator.pipelines.app.report import ComponentRun, RunReport
from tfx_keras_estimator.pipelines.app.report_html import (
    ReportError,
    Sparklines,
    _num,
    curve_png,
    history_png,
    render,
    slices_png,
    timeline_png,
)
from tfx_keras_estimator.pipelines.app.run_details import Curve, FeatureSummary


def _decoded(uri: str) -> Image.Image:
    assert uri.startswith('data:image/png;base64,')
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(',', 1)[1]))).convert('RGB')
    pixels = list(image.getdata())
    ink = sum(1 for p in pixels if p != pixels[0]) / len(pixels)
    assert ink > 0.02, 'a blank plot'
    return image


def test_timeline_has_a_bar_per_component():
    report = RunReport('r1', components=[
        ComponentRun('CsvExampleGen', 'complete', start_ms=1000, end_ms=2000),
        ComponentRun('Trainer', 'cached', start_ms=2000, end_ms=2000),
        ComponentRun('Evaluator', 'failed', start_ms=2000, end_ms=5000)])
    image = _decoded(timeline_png(report))
    assert image.size[1] > image.size[0] * 0.1
    assert timeline_png(RunReport('empty')) is None


def test_feature_charts_for_numbers_and_strings():
    numeric = FeatureSummary('size', 'FLOAT', 10, 0.0, histogram=[(0, 1, 3), (1, 2, 5), (2, 3, 2)])
    text = FeatureSummary('colour', 'STRING', 10, 0.0, unique=2, top=[('red', 7), ('blue', 3)])
    sparklines = Sparklines()
    _decoded(sparklines.png(numeric))
    # The figure is reused: the second chart holds only its own bars.
    assert len(sparklines.ax.patches) == 3
    _decoded(sparklines.png(text))
    assert len(sparklines.ax.patches) == 2
    assert sparklines.png(FeatureSummary('image', 'BYTES', 10, 0.0)) is None
    sparklines.close()


def test_curves_slices_and_history_plots_decode():
    _decoded(curve_png(Curve('loss', train=[(1, 700.0), (100, 10.0), (200, 8.0)], eval=[(200, 9.0)])))
    _decoded(slices_png('rmse', [('Overall', 4.5), ('chas = 1', 9.7)]))
    _decoded(history_png('rmse', [(1, 4.6, True), (2, 9.1, False), (3, 4.4, True)]))
    assert slices_png('rmse', []) is None and history_png('rmse', []) is None


def test_numbers_read_well():
    assert _num(141.0) == '141' and _num(4.6284) == '4.628' and _num(None) == '–' and _num(float('nan')) == '–'
    assert _num(15002.0) == '15,002'


def test_a_folder_without_a_metadata_store_is_refused(tmp_path):
    with pytest.raises(ReportError, match='not a run directory'):
        render(tmp_path)
