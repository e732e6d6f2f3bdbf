"""The error every data-source check raises: one type, so the workflow's start-up check and
the CLI report a bad manifest or folder the same way (one line naming the file)."""


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the line and the fault."""
