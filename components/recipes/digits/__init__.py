"""UCI handwritten digits (8x8): the Keras/Estimator blog post's MNIST CNN, 10-way classification."""
