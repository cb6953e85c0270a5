"""Who writes a temporary file, and whether that process still runs.

Adapters that write to a temporary name and rename it into place (the local file
store, the folder mailer) put the writer's host tag and pid into the name. A
process killed midway leaves the file behind; a sweep may remove it at once when
its writer is known to be dead, and must otherwise wait until it is old enough
that no live writer can still be busy with it.
"""

from __future__ import annotations

import hashlib
import os
import socket

__all__ = ["host_tag", "writer_alive"]


def host_tag() -> str:
    """This host in 8 hex digits: enough to tell hosts apart, without naming them.

    Hosts (or containers) that share a folder need different host names, or one
    would read the other's pids as its own.
    """
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def writer_alive(host: str, pid: int) -> bool | None:
    """Whether process ``pid`` of host ``host`` runs; None when this host cannot tell.

    A reused pid reads as alive: callers still remove a file once it is older
    than their grace period, so that errs on the side of waiting.
    """
    if host != host_tag() or os.name != "posix":
        return None  # another host's pid means nothing here (and Windows' kill kills)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0 delivers nothing: it asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return None
    return True
