# Runs a command as on a file system without hard links (FAT, some network and FUSE file systems):
# a seccomp filter makes link() and linkat() fail with EPERM, as those file systems do.
# Usage: python3 no-hard-links.py COMMAND [ARGS...]   (Linux, x86_64 or aarch64)
import ctypes
import os
import platform
import struct
import sys

# The audit architecture a filter must check, and the syscall numbers of link and linkat.
ARCHES = {'x86_64': (0xC000003E, [86, 265]), 'aarch64': (0xC00000B7, [37])}
audit_arch, link_calls = ARCHES[platform.machine()]

LOAD_WORD, JUMP_IF_EQUAL, RETURN = 0x20, 0x15, 0x06
ALLOW, KILL, FAIL_WITH_ERRNO, EPERM = 0x7FFF0000, 0, 0x00050000, 1


def op(code, k, jump_true=0, jump_false=0):
    return struct.pack('HBBI', code, jump_true, jump_false, k)


program = [op(LOAD_WORD, 4), op(JUMP_IF_EQUAL, audit_arch, 1, 0), op(RETURN, KILL), op(LOAD_WORD, 0)]
for i, number in enumerate(link_calls):
    program.append(op(JUMP_IF_EQUAL, number, len(link_calls) - i, 0))
program += [op(RETURN, ALLOW), op(RETURN, FAIL_WITH_ERRNO | EPERM)]


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


code = ctypes.create_string_buffer(b''.join(program))
fprog = SockFprog(len(program), ctypes.addressof(code))
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit('cannot install the seccomp filter: ' + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
