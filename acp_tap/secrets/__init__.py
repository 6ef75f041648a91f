"""Secret rules vendored from maintained sources, and the engine and prefilter that run them."""
