"""Errors meant for the user: one line naming the file, column, row and value."""

from __future__ import annotations


class AnalysisError(Exception):
    """A problem with the user's input that stops the run.

    The message is a single line; the CLI prints it without a traceback
    (unless ``--debug``) and exits with status 2.
    """


class StudyFileError(AnalysisError):
    """The study file is malformed or inconsistent."""


class MappingError(StudyFileError):
    """The site mapping file is malformed, or does not fit the study file or the data."""


class DataError(AnalysisError):
    """The data file cannot be read or fails validation."""
