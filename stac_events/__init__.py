"""Push events into StackState's Receiver API from the command line."""

__version__ = "0.1.0"
