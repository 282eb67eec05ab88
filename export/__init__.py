"""Torch -> ONNX export: wrapper modules with fixed input/output names, metadata, parity checks.

The repository's top-level ``export/`` folder, installed as ``flowaudio.export`` (needs the
``export`` extra):

- :mod:`.voice`: ``flowaudio export``, a run (or a voice's vocoder) into a voice directory;
- :mod:`.wrappers` and :mod:`.vocoder`: the modules each graph is traced from;
- :mod:`.onnx_io`: graph writing, weight formats, metadata; :mod:`.optimize`: int8;
- :mod:`.verify`: onnxruntime against torch, for every graph;
- :mod:`.from_voice`: a voice directory back into trainable torch modules.
"""
