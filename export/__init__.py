"""Torch -> ONNX export: wrapper modules with fixed input/output names, metadata, parity checks."""
