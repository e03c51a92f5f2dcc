"""seccomp: ``socket()`` and ``io_uring_setup()`` fail with EACCES in the worker.

The confinement layer ``seccomp`` (``checks.engine.isolation.lockdown`` says why it is needed
beside the network namespace and Landlock): a small BPF program, built here and installed with
prctl.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
from typing import Sequence

from checks.engine.isolation.confinement import ACTIVE, MISSING, Layer
from checks.engine.isolation.kernel_calls import prctl, set_no_new_privs


PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
SECCOMP_DATA_NR, SECCOMP_DATA_ARCH = 0, 4  # offsets in struct seccomp_data
X32_SYSCALL_BIT = 0x40000000
# machine: (AUDIT_ARCH_*, the numbers of socket and io_uring_setup)
SECCOMP_ARCHITECTURES = {"x86_64": (0xC000003E, (41, 425)), "aarch64": (0xC00000B7, (198, 425))}


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def socket_filter(architecture: int, denied: Sequence[int], refuse_x32: bool) -> list[SockFilter]:
    """The BPF program: a system call of another architecture, of x32, or in ``denied`` fails with
    EACCES; everything else is allowed. (Another architecture: a 64-bit process can still make
    32-bit system calls, whose numbers differ.)"""
    deny = SECCOMP_RET_ERRNO | errno.EACCES
    program = [SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
               SockFilter(BPF_JEQ_K, 1, 0, architecture),
               SockFilter(BPF_RET_K, 0, 0, deny),
               SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    tests = [(BPF_JGE_K, X32_SYSCALL_BIT)] * refuse_x32 + [(BPF_JEQ_K, number) for number in denied]
    for position, (code, value) in enumerate(tests):
        to_deny = len(tests) - position  # over the remaining tests and the "allow"
        program.append(SockFilter(code, to_deny, 0, value))
    return program + [SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), SockFilter(BPF_RET_K, 0, 0, deny)]


def filter_sockets() -> Layer:
    """Install the seccomp filter of ``socket_filter`` for this machine's architecture."""
    machine = platform.machine()
    if machine not in SECCOMP_ARCHITECTURES or struct.calcsize("P") != 8:
        return Layer("seccomp", MISSING, f"no filter for this architecture ({machine}, "
                     f"{8 * struct.calcsize('P')}-bit Python)")
    architecture, denied = SECCOMP_ARCHITECTURES[machine]
    program = socket_filter(architecture, denied, refuse_x32=machine == "x86_64")
    instructions = (SockFilter * len(program))(*program)
    fprog = SockFprog(len(program), ctypes.cast(instructions, ctypes.POINTER(SockFilter)))
    try:
        set_no_new_privs()  # required for a filter without CAP_SYS_ADMIN
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p))
    except OSError as error:
        return Layer("seccomp", MISSING, f"the kernel refused the filter: {error.strerror}")
    return Layer("seccomp", ACTIVE, f"socket() and io_uring_setup() fail with EACCES ({machine})")
