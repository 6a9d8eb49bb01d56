"""Chords to notes: voicing, arpeggios, velocity, the musical grid and MIDI files."""
