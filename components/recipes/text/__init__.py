"""Debian package descriptions -> section (20 classes): the Keras bag-of-words post's model."""
