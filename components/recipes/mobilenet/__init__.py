"""Transfer learning as in the Estimator guide: MobileNetV2 base, pooled, dense softmax head, on PNG digits."""
