"""Batch analysis, dataset export and batch rendering on a Ray cluster (``v2m-bridge batch``).

Ray is an optional extra (``pip install -e ".[cluster]"``). The modules that need it
(:mod:`.cluster`, :mod:`.tasks`, :mod:`.runner`) import it at the top, and nothing outside this
package imports them except the ``batch`` command, so the core install never loads Ray. The
Ray-free parts: :mod:`.inputs` (which files to process), :mod:`.plan` (settings and cache keys,
the same as ``analyze_video``'s), :mod:`.manifest` (what is done, what failed and why) and
:mod:`.report` (the summary table).

What runs where:

- hashing, decoding, scene detection and motion: Ray CPU tasks, one video each;
- CLIP: a pool of Ray actors (one per GPU, fp16; or CPU actors when there is no GPU), fed by the
  decode tasks in the same batches the one-video path uses, so the numbers are identical;
- chords and arrangement: Ray CPU tasks that keep the chord model loaded per worker;
- every file write (feature cache, MuVi-Sync layout, MIDI, manifest): the driver, atomically.
"""
