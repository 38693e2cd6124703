"""Errors that the command line reports as one clear line instead of a traceback."""


class QingzhiError(Exception):
    """A problem the operator can fix (bad configuration, unreachable service, bad input file)."""
