"""Data on disk: the MuVi-Sync layout (one reader and writer), the chord corpora and the
video-side conditioning derived for them."""
