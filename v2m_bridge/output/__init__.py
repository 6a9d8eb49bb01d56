"""Writers for a composition: MIDI file, audio preview, video with music, timeline plot."""
