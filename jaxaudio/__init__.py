"""jaxaudio."""
