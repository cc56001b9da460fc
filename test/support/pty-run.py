# Runs a command on a pseudo-terminal and reports what it wrote, as JSON lines on stdout:
#   {"fd": 1 or 2, "t": milliseconds since start, "b64": bytes}   and at the end {"exit": code}
# Standard output (and input) is one terminal; with --split, standard error is a second one, so
# a test can tell the two apart. What arrives on this script's stdin is typed into the terminal.
# Usage: pty-run.py COLS ROWS [--split] -- CMD [ARGS...]
# The command's environment is the JSON object in PTY_RUN_ENV, not this script's own: python3 may
# need variables (HOME for pyenv) that the command under test must not see.
import base64, fcntl, json, os, select, struct, sys, termios, time

def main():
    cols, rows = int(sys.argv[1]), int(sys.argv[2])
    rest = sys.argv[3:]
    split = rest[0] == '--split'
    cmd = rest[rest.index('--') + 1:]
    out_master, out_slave = os.openpty()
    err_master, err_slave = os.openpty() if split else (None, None)
    for fd in (out_slave, err_slave):
        if fd is not None:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(out_slave, termios.TIOCSCTTY, 0)
        os.dup2(out_slave, 0)
        os.dup2(out_slave, 1)
        os.dup2(err_slave if split else out_slave, 2)
        for fd in (out_master, out_slave, err_master, err_slave):
            if fd is not None and fd > 2:
                os.close(fd)
        env = json.loads(os.environ['PTY_RUN_ENV'])
        os.execvpe(cmd[0], cmd, env)
    os.close(out_slave)
    if err_slave is not None:
        os.close(err_slave)
    masters = {out_master: 1}
    if err_master is not None:
        masters[err_master] = 2
    stdin_open = True
    status = None
    def emit(obj):
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()
    def relay(fd):
        # What the terminal has for us, reported; at its end (or an error) it is watched no more.
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            emit({'fd': masters[fd], 't': round((time.monotonic() - start) * 1000), 'b64': base64.b64encode(data).decode()})
        else:
            del masters[fd]
    while masters:
        watch = list(masters) + ([0] if stdin_open else [])
        ready, _, _ = select.select(watch, [], [], 0.05)
        for fd in ready:
            if fd == 0:
                data = os.read(0, 4096)
                if data:
                    os.write(out_master, data)
                else:
                    stdin_open = False
                continue
            relay(fd)
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                # The child is gone: read what is left, then stop (a grandchild may hold the terminal open).
                deadline = time.monotonic() + 0.5
                while masters and time.monotonic() < deadline:
                    ready, _, _ = select.select(list(masters), [], [], 0.05)
                    for fd in ready:
                        relay(fd)
                break
    if status is None:
        _, status = os.waitpid(pid, 0)
    emit({'exit': os.waitstatus_to_exitcode(status)})

main()
