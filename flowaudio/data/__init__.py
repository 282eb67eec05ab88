"""Data tools, torch-free (the base install runs them; a test imports every module with torch
blocked):

- :mod:`.manifest`: reading datasets (LJSpeech, multi-speaker CSV, folders of wav + txt);
- :mod:`.prepare`: ``flowaudio prepare``, a dataset into a cache of token ids and log-mels;
- :mod:`.cache`: a prepared cache as it describes itself (:class:`~.cache.CacheInfo`);
- :mod:`.config`: the preparation settings (:class:`~.config.DataConfig`) and presets;
- :mod:`.corpus`: the teacher-voice corpus builder (flite, espeak-ng).

The torch side of a cache (Dataset, collate, the length-bucketing sampler) belongs to training:
:mod:`flowaudio.train.dataset`.
"""
