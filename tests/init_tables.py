"""Tables for the tke init tests, made from shipped data: mixed types, empty cells, missing tokens."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import List

from tfx_keras_estimator.components.recipes import get_recipe

# Every 17th trip_miles cell reads 'NA' (as R writes a missing number), every 23rd fare 'N/A'.
NA_EVERY, NA_SLASH_EVERY = 17, 23


def mixed_taxi_csv(path: Path, rows: int = 1500) -> Path:
    """The first ``rows`` taxi trips: ints, floats, strings, empty cells, and missing tokens in numbers."""
    source = get_recipe('taxi').data_dir / 'chicago_taxi.csv'
    with source.open(newline='') as f:
        reader = csv.DictReader(f)
        header: List[str] = list(reader.fieldnames or [])
        out = [row for _, row in zip(range(rows), reader, strict=False)]
    for i, row in enumerate(out):
        if i % NA_EVERY == 3:
            row['trip_miles'] = 'NA'
        if i % NA_SLASH_EVERY == 5:
            row['fare'] = 'N/A'
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(out)
    return path
