"""Exit statuses: the only place the numbers are spelled."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """What a finished run tells its caller (SPEC section 6)."""

    SUCCESS = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    CONFIG = 3
    REJECTED = 4
    DELIVERY_FAILED = 5
    QUEUED = 75  # EX_TEMPFAIL from sysexits.h: try again later
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it
    BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader went away, as git and coreutils end
    TERMINATED = 143  # 128 + SIGTERM
