"""Rendering of results: the table model, its writers and number styles."""

# The table formats (the command line reads these without importing the writers, whose
# imports are the heavy part of a process's start-up).
FORMATS = ("md", "csv", "html", "docx", "xlsx", "tex")
# What the command line writes unless --formats says otherwise (config/config.yaml's too).
DEFAULT_FORMATS = ("md", "csv", "html")
