"""The error a model bundle (or a model directory inside one) raises when it cannot be used."""


class BundleError(ValueError):
    """A bundle that cannot be used; the message names the file and what is wrong."""
