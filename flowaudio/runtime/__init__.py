"""Torch-free runtime: numpy + onnxruntime."""
