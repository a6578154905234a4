"""The version of stac-events, in one place (the build reads it from here)."""

__version__ = "0.1.0"

# Where stac-events is developed: the package's metadata (pyproject.toml's [project.urls]),
# the message of an internal error and the README's Action examples all name this one.
REPOSITORY = "https://github.com/stac-events/stac-events"
ISSUES = f"{REPOSITORY}/issues"
