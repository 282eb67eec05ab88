"""Training: a plain loop shared by the acoustic model and the vocoder.

``loop.Trainer`` owns everything a run needs besides the model's maths: devices and DDP,
batching, optimisers and schedules, EMA, atomic checkpoints with exact resume, TensorBoard,
progress and signals. A ``TrainTask`` (``acoustic.py``, ``vocoder.py``) brings the modules,
the datasets and one training step.
"""
