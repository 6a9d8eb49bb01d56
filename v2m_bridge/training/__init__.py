"""Training and evaluation of the AMT and the bi-GRU: losses, the training loop, evaluation.

The data they read (MuVi-Sync folders, chord corpora, derived conditioning) lives in
:mod:`v2m_bridge.data`. Torch is imported where it is used, so the CLI stays quick to start.
"""
