"""Renders the shipped 8x8 digits (the digits recipe's data/digits.csv) as PNG images in tf.Examples.

The mobilenet recipe reads images the way an image service receives them:
encoded PNG bytes in a ``tf.Example`` feature ``image`` (plus the int ``label``),
decoded inside the graph. Each 8x8 digit (gray levels 0..16) becomes a 32x32 RGB
PNG: every pixel a 4x4 block (nearest neighbour, so the 8x8 grid decodes back
exactly), level ``v`` as ``round(v * 255 / 16)`` on all three channels. The output
is deterministic (rows in CSV order, no randomness) and checked in:

    .venv/bin/python scripts/make_mobilenet_data.py    # writes the mobilenet recipe's data/digits.tfrecord
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from tfx_keras_estimator.components.recipes.digits import features as digits
from tfx_keras_estimator.components.recipes.lookup import get_recipe
from tfx_keras_estimator.components.recipes.mobilenet import features as F

SCALE = F.IMAGE_SIZE // digits.IMAGE_SIZE


def render(pixels: List[int]) -> np.ndarray:
    """64 gray levels (0..16, row-major) -> a 32x32x3 uint8 image."""
    levels = np.asarray(pixels, dtype=np.float64).reshape(digits.IMAGE_SIZE, digits.IMAGE_SIZE)
    gray = np.round(levels * 255.0 / digits.PIXEL_MAX).astype(np.uint8)
    big = np.kron(gray, np.ones((SCALE, SCALE), dtype=np.uint8))
    return np.repeat(big[:, :, None], F.CHANNELS, axis=2)


def read_digits(csv_path: Path) -> Iterator[Tuple[List[int], int]]:
    """(pixels, label) per CSV row; a ValueError names the file and row of a bad value."""
    with csv_path.open(newline='') as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                pixels = [int(row[key]) for key in digits.PIXEL_KEYS]
                label = int(row[digits.LABEL_KEY])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f'{csv_path}, row {line}: not a digits row ({e})') from e
            if not all(0 <= p <= digits.PIXEL_MAX for p in pixels):
                raise ValueError(f'{csv_path}, row {line}: a pixel outside 0..{digits.PIXEL_MAX:g}')
            yield pixels, label


def write_tfrecord(csv_path: Path, out_path: Path) -> int:
    """Writes one tf.Example per CSV row; returns how many."""
    import tensorflow as tf

    out_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with tf.io.TFRecordWriter(str(out_path)) as writer:
        for pixels, label in read_digits(csv_path):
            png = tf.io.encode_png(render(pixels)).numpy()
            example = tf.train.Example(features=tf.train.Features(feature={
                F.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[png])),
                F.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
            }))
            # deterministic: map fields (the feature names) in a fixed order.
            writer.write(example.SerializeToString(deterministic=True))
            count += 1
    return count


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--csv', type=Path, default=get_recipe('digits').data_dir / 'digits.csv')
    parser.add_argument('--out', type=Path, default=get_recipe('mobilenet').data_dir / F.DATA_FILE)
    args = parser.parse_args(argv)
    count = write_tfrecord(args.csv, args.out)
    print(f'wrote {count} examples to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
