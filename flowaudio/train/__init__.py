"""Training: a plain loop shared by every task, and the tasks.

``loop.Trainer`` owns everything a run needs besides the model's maths: devices and DDP,
batching, optimisers and schedules (:mod:`.optim`), EMA, atomic checkpoints with exact resume
(:mod:`.checkpoint`; the config travels with the weights), TensorBoard, progress and signals. A
``TrainTask`` brings the modules, the datasets and one training step:

- :mod:`.acoustic` (``flowaudio train``), :mod:`.vocoder` (``flowaudio train-vocoder``, with the
  training-only :mod:`.discriminators` and :mod:`.vocoder_losses`), :mod:`.distill`
  (``flowaudio distill``), :mod:`.finetune` (``flowaudio finetune``);
- :mod:`.config`: :class:`~.config.TrainConfig` and every task's run config and presets;
- :mod:`.dataset`: the torch side of a prepared cache (Dataset, collate, bucketing sampler);
- :mod:`.run`: resolving a run's config, checking its data, fitting it.
"""
