"""Rank music by fit to a picture: music features, a two-branch embedding, a library index.

:mod:`.music_features` reads MIDI files, MuVi-Sync chord folders and the chord corpora onto the
per-second grid of the video features; :mod:`.embedding` is the two-branch (video, music) network
trained with the CBVMR losses of :mod:`.losses` by :mod:`.train`; :mod:`.index` builds a
content-cached library index and :mod:`.match` ranks it for a video, explains the ranking and
strings the chosen excerpts into a temp track.
"""
