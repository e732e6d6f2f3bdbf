"""Speed benchmarks of jaxaudio against reference implementations (see README.md)."""
