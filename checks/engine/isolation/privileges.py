"""The worker's identity: the namespaces it enters, the user it becomes, the capabilities it drops.

The confinement layers ``namespaces``, ``user`` and ``capabilities`` (``checks.engine.isolation.lockdown``
says what each holds off). Apart from the file-system and network rules (``landlock``) because
these change who the process is, not what it may open; ``limits`` reuses the user namespace and
the bounding set from here for its count of processes.
"""

from __future__ import annotations

import ctypes
import errno
import os

from checks.engine.isolation.confinement import ACTIVE, MISSING, NOT_NEEDED, Layer, Plan
from checks.engine.isolation.kernel_calls import checked, libc, prctl, set_no_new_privs

# -- 1. namespaces ---------------------------------------------------------------------------------

CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x08000000, 0x10000000, 0x40000000


def enter_namespaces() -> Layer:
    """New network and IPC namespaces; an ordinary user first gets a user namespace to make them in."""
    flags = CLONE_NEWNET | CLONE_NEWIPC
    if os.geteuid() == 0:
        try:
            checked(libc().unshare(ctypes.c_int(flags)))
        except OSError as error:
            return Layer("namespaces", MISSING, f"unshare(CLONE_NEWNET | CLONE_NEWIPC) as root failed: {error.strerror}")
        return Layer("namespaces", ACTIVE, "new network namespace (loopback only, down) and IPC namespace")
    uid, gid = os.getuid(), os.getgid()
    try:
        checked(libc().unshare(ctypes.c_int(CLONE_NEWUSER | flags)))
    except OSError as error:
        return Layer("namespaces", MISSING, f"the kernel refuses an ordinary user a user namespace: {error.strerror} "
                     "(see the sysctls user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns)")
    detail = ("new user namespace (the grading user mapped to itself), network namespace (loopback only, down) "
              "and IPC namespace")
    problem = map_user_to_itself(uid, gid)
    if problem:  # the namespaces exist all the same; permissions still go by the real uid
        detail += f" (the user map could not be written: {problem})"
    return Layer("namespaces", ACTIVE, detail)


PR_SET_DUMPABLE, PR_GET_DUMPABLE = 4, 3


def map_user_to_itself(uid: int, gid: int) -> str:
    """Map ``uid`` and ``gid`` to themselves in the user namespace just made; '' or why not.

    So that os.getuid() and file ownership read as before, and files can be created at all. A
    process that changed its user (root become nobody) is not dumpable, which makes its /proc
    entries root's: it is made dumpable just long enough to write its own maps.
    """
    dumpable = prctl(PR_GET_DUMPABLE)
    try:
        if not dumpable:
            prctl(PR_SET_DUMPABLE, 1)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as stream:
                stream.write(text)
    except OSError as error:
        return error.strerror or str(error)
    finally:
        if not dumpable:
            prctl(PR_SET_DUMPABLE, 0)
    return ""


# -- 2. user and 3. capabilities -------------------------------------------------------------------

PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CAPABILITY_VERSION_3 = 0x20080522


class CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapabilitySets(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def become_user(plan: Plan) -> Layer:
    """setresuid to the plan's user (all supplementary groups dropped), if the grader asked for one."""
    if plan.user is None:
        return Layer("user", MISSING if plan.user_needed else NOT_NEEDED, plan.user_note)
    uid, gid = plan.user
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as error:
        return Layer("user", MISSING, f"could not become uid {uid}: {error.strerror}")
    return Layer("user", ACTIVE, plan.user_note)


def drop_bounding_set() -> str:
    """Empty the bounding set (needs CAP_SETPCAP, so before the drop of user); '' or why not."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as stream:
            last = int(stream.read())
    except (OSError, ValueError):
        last = 63
    try:
        for capability in range(last + 1):
            prctl(PR_CAPBSET_DROP, capability)
    except OSError as error:
        if error.errno == errno.EINVAL:  # past the kernel's last capability
            return ""
        return f"bounding set kept ({error.strerror}; no_new_privs makes it moot)"
    return ""


def drop_capabilities(bounding_note: str = "") -> Layer:
    """Empty every capability set of this process and set no_new_privs."""
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set: nothing to clear
    try:
        header, sets = CapabilityHeader(CAPABILITY_VERSION_3, 0), (CapabilitySets * 2)()
        checked(libc().capset(ctypes.byref(header), sets))
        set_no_new_privs()
    except OSError as error:
        return Layer("capabilities", MISSING, f"could not drop capabilities: {error.strerror}")
    return Layer("capabilities", ACTIVE, "; ".join(filter(None, ["every capability dropped, no_new_privs set",
                                                                  bounding_note])))

