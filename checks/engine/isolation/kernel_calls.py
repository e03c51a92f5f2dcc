"""The libc and raw system calls the lock-down makes, through ctypes: one place for errno handling.

Every confinement layer (``privileges``, ``landlock``, ``seccomp``, ``limits``) calls the kernel
through these few wrappers, which turn a -1 into an OSError carrying errno.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

PR_SET_NO_NEW_PRIVS = 38


@functools.cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def checked(result: int) -> int:
    """``result`` of a libc call, or OSError with errno if it is -1."""
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def syscall(number: int, *args: Any) -> int:
    function = libc().syscall
    function.restype = ctypes.c_long
    return checked(function(ctypes.c_long(number), *args))


def prctl(option: int, *args: Any) -> int:
    values = [ctypes.c_ulong(arg) if type(arg) is int else arg for arg in args]
    values += [ctypes.c_ulong(0)] * (4 - len(values))
    return checked(libc().prctl(ctypes.c_int(option), *values))



def set_no_new_privs() -> None:
    """No program this process runs may gain privileges (needed by Landlock and seccomp without root)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
