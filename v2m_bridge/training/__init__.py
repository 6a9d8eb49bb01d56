"""Training, corpus import and evaluation for the AMT.

* :mod:`.corpora` reads POP909 and McGill Billboard into per-second chord sequences in the
  official vocabulary, normalised to C major / A minor;
* :mod:`.conditioning` derives the video-side inputs (emotion, scene offset, motion) the corpora
  lack, so a chord model trained on them still learns to follow a video;
* :mod:`.dataset` writes and reads the MuVi-Sync folder layout (spec §4);
* :mod:`.loss`, :mod:`.train`, :mod:`.evaluate` and :mod:`.starter` do the rest.

Everything here imports torch lazily where it can, so the CLI stays quick to start.
"""
