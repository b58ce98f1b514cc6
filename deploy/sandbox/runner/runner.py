"""In-container test runner of the code platform's sandbox image.

It is the container's PID 1 (the grader starts the container without an init). It reads one
JSON job from stdin, writes the submission to /sandbox, runs the optional compile step and
every test in child processes under resource limits, decides pass/fail itself (the expected
values never leave this process), and prints exactly one line to its stdout:

    <nonce> <report-json>

Nothing the submission does can reach this process's stdout: children get pipes for
stdin/stdout/stderr, every other descriptor is closed, and this process is made non-dumpable
so that same-uid processes cannot open /proc/1/fd/*, /proc/1/mem or /proc/1/environ.

Python 3.11 standard library only.
"""

import ast
import ctypes
import errno
import json
import math
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time

MAX_JOB_BYTES = 2 * 1024 * 1024
MAX_MESSAGE = 2000  # characters of any message in the report
MAX_RESULT_BYTES = 1024 * 1024  # what call.py may write to fd 3
WORKDIR = "/sandbox"
FSIZE_LIMIT = 1024 * 1024
WALL_SLACK_S = 0.1
EXIT_GRACE_S = 0.05  # how long to drain pipes after the child exited
CHILD_NICE = 10  # children yield the CPU to the runner inside the container's quota
CHILD_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": WORKDIR,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
STATUSES = ("passed", "failed", "error", "time_limit", "memory_limit", "output_limit", "skipped")
LIMIT_STATUSES = ("time_limit", "memory_limit", "output_limit")
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

IS_PID1 = os.getpid() == 1
_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def prctl(option, arg):
    if libc().prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                    ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Malformed(Exception):
    """The job does not follow the protocol."""


# ---------------------------------------------------------------------------------------------
# Small helpers for messages

def cap(text, limit=MAX_MESSAGE):
    if text is None:
        return None
    if len(text) > limit:
        return text[: limit - 1] + "\u2026"
    return text


def cap_tail(text, limit=MAX_MESSAGE):
    if len(text) > limit:
        return "\u2026" + text[-(limit - 1):]
    return text


def quote(text, limit=200):
    """A line of output, quoted for a student: "..." with control characters escaped."""
    out = []
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    s = "".join(out)
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    return '"' + s + '"'


def decode(data):
    return data.decode("utf-8", errors="replace")


def signal_name(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


def fmt_bytes(n):
    if n % (1024 * 1024) == 0:
        return "%d MiB" % (n // (1024 * 1024))
    if n % 1024 == 0:
        return "%d KiB" % (n // 1024)
    return "%d bytes" % n


# ---------------------------------------------------------------------------------------------
# Tracebacks

_FILE_LINE = re.compile(r'^\s*File "([^"]*)", line (\d+)')
_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Iteration)\b(: .*)?$"
                       r"|^[A-Za-z_][\w.]*: .*$|^[A-Za-z_][\w.]*Error$")


def summarize_stderr(stderr_text, file_name):
    """For a Python traceback: 'ZeroDivisionError: division by zero (solution.py, line 3)'.

    Otherwise the last few lines of stderr. Returns (message, exception_line or None).
    """
    text = stderr_text.replace("\r\n", "\n")
    lines = [ln.rstrip() for ln in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return "", None
    tb_start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last):"):
            tb_start = i
            break
    if tb_start is None:
        # A syntax error of the program itself has no "Traceback" header, only File/line.
        for i in range(max(0, len(lines) - 10), len(lines)):
            if _FILE_LINE.match(lines[i]):
                tb_start = i
                break
    if tb_start is None:
        return cap_tail("\n".join(lines[-15:])), lines[-1].strip()
    # The exception line is the last unindented "Name: message" line; with several processes
    # writing at once (a fork bomb) tracebacks interleave, so do not trust the very last line.
    exc_index = None
    for i in range(len(lines) - 1, tb_start, -1):
        ln = lines[i]
        if ln and not ln[0].isspace() and not ln.startswith("Traceback") and _EXC_LINE.match(ln):
            exc_index = i
            break
    if exc_index is None:
        exc_index = len(lines) - 1
    exc_line = lines[exc_index].strip()
    solution_paths = (file_name, WORKDIR + "/" + file_name)
    where = None
    for ln in lines[tb_start:exc_index]:
        m = _FILE_LINE.match(ln)
        if m and m.group(1) in solution_paths:
            where = "%s, line %s" % (file_name, m.group(2))
    message = exc_line
    if where:
        message += " (%s)" % where
    if exc_line.startswith("BlockingIOError: [Errno 11]") and "fork" in text:
        message = "the program started too many processes (the process limit was reached): " + message
    # Output printed before the traceback is useful too, but keep it short.
    before = [ln for ln in lines[:tb_start] if ln]
    if before and "Traceback (most recent call last):" not in "\n".join(before):
        message = cap_tail("\n".join(before[-5:]), 500) + "\n" + message
    return cap(message), exc_line


def tidy_compile_output(text, file_name):
    """Drop the part of a compiler traceback that is about the compile command itself."""
    text = text.replace("\r\n", "\n").replace(WORKDIR + "/" + file_name, file_name)
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        m = _FILE_LINE.match(ln)
        if m and m.group(1) == file_name:
            lines = lines[i:]
            break
    text = "\n".join(ln.rstrip() for ln in lines).strip("\n")
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "\u2026"
    return text


# ---------------------------------------------------------------------------------------------
# Killing and reaping

def _descendants():
    """Pids of all processes whose parent chain leads to us (fallback when not PID 1)."""
    me = os.getpid()
    parent = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e, "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parent[int(e)] = ppid
    result = []
    for pid in parent:
        p, seen = pid, 0
        while p in parent and seen < 4096:
            p = parent[p]
            seen += 1
            if p == me:
                result.append(pid)
                break
    return result


def kill_everything(timeout=5.0):
    """Kill every process in the container but this one, and reap them all."""
    deadline = time.monotonic() + timeout
    while True:
        others = True
        if IS_PID1:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                others = False
            except OSError:
                pass
        else:
            pids = _descendants()
            others = bool(pids)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        no_children = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                no_children = True
                break
            if pid == 0:
                break
        if not others and no_children:
            return True
        if time.monotonic() > deadline:
            print("runner: could not kill every process within %.1fs" % timeout, file=sys.stderr)
            return False
        time.sleep(0.002)


def clean_dirs(keep):
    """Remove what a test left in the work directory (all but `keep`) and in /tmp, so that one
    test cannot fill the disk or plant files for the next. Best effort."""
    for base, spare in ((WORKDIR, keep), ("/tmp", ())):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            if name in spare:
                continue
            path = os.path.join(base, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# Running one child

class Outcome:
    __slots__ = ("returncode", "stdout", "stderr", "result", "timed_out", "output_exceeded",
                 "result_exceeded", "killed_by_runner", "duration_ms", "spawn_error")

    def __init__(self):
        self.returncode = None
        self.stdout = b""
        self.stderr = b""
        self.result = b""
        self.timed_out = False
        self.output_exceeded = False
        self.result_exceeded = False
        self.killed_by_runner = False
        self.duration_ms = 0
        self.spawn_error = None


def _make_preexec(limits):
    mem = limits["memory_mb"] * 1024 * 1024
    cpu = int(math.ceil(limits["time_ms"] / 1000.0)) + 1

    def preexec():
        # This runs in the forked child before exec, while no other process of the submission
        # exists (every one is killed after each step).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            # Our own /proc files must belong to our uid to raise oom_score_adj: become dumpable
            # again (exec would do so anyway) and volunteer for the OOM killer before the runner.
            prctl(PR_SET_DUMPABLE, 1)
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass
        try:
            os.nice(CHILD_NICE)
        except OSError:
            pass
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    return preexec


_FD3_PLACEHOLDER = None


def reserve_fd3():
    """Keep fd 3 permanently occupied (by /dev/null) so that no pipe of ours ever lands there:
    the result pipe is moved onto fd 3 just for the spawn of a call test."""
    global _FD3_PLACEHOLDER
    fd = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    if fd != 3:
        os.dup2(fd, 3, inheritable=False)
        os.close(fd)
    _FD3_PLACEHOLDER = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)


def run_child(argv, limits, stdin_data=b"", want_result=False):
    """Run argv under the limits; return an Outcome. Never raises for the child's behaviour."""
    out = Outcome()
    out_cap = limits["output_kb"] * 1024
    wall = limits["time_ms"] / 1000.0 + WALL_SLACK_S
    result_r = None
    proc = None
    started = time.monotonic()
    try:
        pass_fds = ()
        if want_result:
            result_r, result_w = os.pipe()
            os.dup2(result_w, 3, inheritable=True)
            os.close(result_w)
            pass_fds = (3,)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                close_fds=True,
                pass_fds=pass_fds,
                cwd=WORKDIR,
                env=dict(CHILD_ENV),
                start_new_session=True,
                preexec_fn=_make_preexec(limits),
                restore_signals=True,
            )
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOMEM):
                out.spawn_error = ("could not start the program: the container's process limit "
                                   "was reached (%s)" % os.strerror(e.errno))
            elif e.errno in (errno.ENOENT, errno.EACCES, errno.ENOEXEC):
                out.spawn_error = "could not start %s: %s" % (argv[0], os.strerror(e.errno))
            else:
                out.spawn_error = "could not start the program: %s" % e
            return out
        except subprocess.SubprocessError as e:
            out.spawn_error = "could not start the program: %s" % e
            return out
        finally:
            if want_result:
                # Our copy of the write end goes; fd 3 is the placeholder again.
                os.dup2(_FD3_PLACEHOLDER, 3, inheritable=False)
        started = time.monotonic()
        _pump(proc, out, stdin_data, result_r, out_cap, wall, started)
    finally:
        if proc is not None:
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    proc.kill()
                except OSError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
            out.returncode = proc.returncode
        if result_r is not None:
            os.close(result_r)
        out.duration_ms = int(round((time.monotonic() - started) * 1000))
        kill_everything()
    return out


def _pump(proc, out, stdin_data, result_r, out_cap, wall, started):
    sel = selectors.DefaultSelector()
    bufs = {}
    pidfd = None
    try:
        out_fd = proc.stdout.fileno()
        err_fd = proc.stderr.fileno()
        for fd in (out_fd, err_fd):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, "out")
            bufs[fd] = bytearray()
        if result_r is not None:
            os.set_blocking(result_r, False)
            sel.register(result_r, selectors.EVENT_READ, "result")
            bufs[result_r] = bytearray()
        in_view = memoryview(stdin_data)
        if proc.stdin is not None:
            in_fd = proc.stdin.fileno()
            os.set_blocking(in_fd, False)
            sel.register(in_fd, selectors.EVENT_WRITE, "in")
        try:
            pidfd = os.pidfd_open(proc.pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        except (AttributeError, OSError):
            pidfd = None
        total_out = 0
        exit_seen_at = None
        open_reads = len(bufs)
        deadline = started + wall

        def stop_child():
            out.killed_by_runner = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        while True:
            now = time.monotonic()
            if exit_seen_at is None:
                if proc.poll() is not None:
                    exit_seen_at = now
            if exit_seen_at is not None:
                if open_reads == 0 or now - exit_seen_at >= EXIT_GRACE_S:
                    break
                timeout = exit_seen_at + EXIT_GRACE_S - now
            else:
                if now >= deadline:
                    out.timed_out = True
                    stop_child()
                    break
                timeout = deadline - now
                if pidfd is None:
                    timeout = min(timeout, 0.01)
            events = sel.select(timeout)
            for key, _ in events:
                fd, kind = key.fd, key.data
                if kind == "exit":
                    sel.unregister(fd)
                    if proc.poll() is not None and exit_seen_at is None:
                        exit_seen_at = time.monotonic()
                elif kind == "in":
                    try:
                        n = os.write(fd, in_view[:65536])
                        in_view = in_view[n:]
                    except BlockingIOError:
                        continue
                    except OSError:  # EPIPE: the child does not read its input
                        in_view = in_view[:0]
                    if not in_view:
                        sel.unregister(fd)
                        proc.stdin.close()
                else:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        sel.unregister(fd)
                        open_reads -= 1
                        continue
                    buf = bufs[fd]
                    if kind == "result":
                        if len(buf) + len(chunk) > MAX_RESULT_BYTES:
                            out.result_exceeded = True
                            stop_child()
                            return
                        buf += chunk
                    else:
                        room = out_cap - total_out
                        total_out += len(chunk)
                        if len(chunk) > room:
                            buf += chunk[:max(room, 0)]
                            out.output_exceeded = True
                            stop_child()
                            return
                        buf += chunk
    finally:
        out.stdout = bytes(bufs.get(proc.stdout.fileno(), b"")) if proc.stdout else b""
        out.stderr = bytes(bufs.get(proc.stderr.fileno(), b"")) if proc.stderr else b""
        if result_r is not None:
            out.result = bytes(bufs.get(result_r, b""))
        if pidfd is not None:
            try:
                os.close(pidfd)
            except OSError:
                pass
        sel.close()


# ---------------------------------------------------------------------------------------------
# Verdicts

def limit_verdict(out, limits, what="the program"):
    """(status, message) if the child hit a limit or died abnormally, else None."""
    if out.output_exceeded:
        return ("output_limit",
                "%s printed more than %s of output" % (what, fmt_bytes(limits["output_kb"] * 1024)))
    if out.result_exceeded:
        return ("output_limit", "the returned value is too large to report")
    if out.timed_out:
        return ("time_limit", "%s took longer than %d ms" % (what, limits["time_ms"]))
    rc = out.returncode
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return ("time_limit", "%s used more than %d ms of CPU time"
                    % (what, limits["time_ms"]))
        if sig == signal.SIGKILL and not out.killed_by_runner:
            return ("memory_limit", "%s was killed for using more than %d MiB of memory"
                    % (what, limits["memory_mb"]))
    return None


def describe_failure(out, file_name, limits):
    """(status, message) for a child that exited non-zero or died by a signal."""
    stderr_text = decode(out.stderr)
    message, exc_line = summarize_stderr(stderr_text, file_name)
    if exc_line and (exc_line == "MemoryError" or exc_line.startswith("MemoryError:")):
        return ("memory_limit", "the program ran out of memory (limit %d MiB)%s"
                % (limits["memory_mb"], _where_suffix(message)))
    rc = out.returncode
    if rc is not None and rc < 0:
        sig = -rc
        text = "the program was killed by %s" % signal_name(sig)
        if sig == signal.SIGXFSZ:
            text = "the program wrote a file larger than %s" % fmt_bytes(FSIZE_LIMIT)
        elif sig == signal.SIGSEGV:
            text = "the program crashed (segmentation fault)"
        if message:
            text += ": " + message
        return ("error", cap(text))
    if message:
        return ("error", message)
    return ("error", "the program exited with status %s" % rc)


def _where_suffix(message):
    m = re.search(r"\(([^()]*, line \d+)\)$", message or "")
    return " at %s" % m.group(1) if m else ""


def normalize_output(text):
    lines = text.replace("\r\n", "\n").split("\n")
    lines = [ln.rstrip() for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def compare_output(expected, actual):
    """None if equal, else a readable message about the first differing line."""
    exp = normalize_output(expected)
    act = normalize_output(actual)
    if exp == act:
        return None
    if not act:
        if len(exp) == 1:
            return "expected %s but the program printed nothing" % quote(exp[0])
        return "expected %d lines but the program printed nothing" % len(exp)
    if len(exp) == 1 and len(act) == 1:
        return "expected %s but got %s" % (quote(exp[0]), quote(act[0]))
    for i in range(max(len(exp), len(act))):
        e = exp[i] if i < len(exp) else None
        a = act[i] if i < len(act) else None
        if e == a:
            continue
        n = i + 1
        if e is None:
            return ("line %d: expected no more output but got %s (%d extra line%s)"
                    % (n, quote(a), len(act) - len(exp), "" if len(act) - len(exp) == 1 else "s"))
        if a is None:
            return ("line %d: expected %s but the output ended after %d line%s"
                    % (n, quote(e), len(act), "" if len(act) == 1 else "s"))
        return "line %d: expected %s but got %s" % (n, quote(e), quote(a))
    return "the output differs from the expected output"


def values_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) or isinstance(b, float):
            if math.isnan(a) and math.isnan(b):
                return True
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return a == b
    if isinstance(a, complex) or isinstance(b, complex):
        return (isinstance(a, (int, float, complex)) and isinstance(b, (int, float, complex))
                and values_equal(complex(a).real, complex(b).real)
                and values_equal(complex(a).imag, complex(b).imag))
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return False
        return all(values_equal(a[k], b[k]) for k in a)
    return a == b


def parse_literal(text):
    try:
        return True, ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def parse_result(raw):
    """The one JSON object call.py wrote to fd 3, or None."""
    if not raw:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("ok"), bool):
        return None
    return obj


# ---------------------------------------------------------------------------------------------
# The job

def validate(job):
    if not isinstance(job, dict):
        raise Malformed("the job is not a JSON object")

    def string(key, allow_none=False):
        v = job.get(key)
        if v is None and allow_none:
            return None
        if not isinstance(v, str):
            raise Malformed("%s must be a string" % key)
        return v

    def argv(key, allow_none):
        v = job.get(key)
        if v is None and allow_none:
            return None
        if (not isinstance(v, list) or not v or len(v) > 256
                or not all(isinstance(a, str) and "\0" not in a for a in v)):
            raise Malformed("%s must be a non-empty list of strings" % key)
        return v

    file_name = string("file_name")
    if (not file_name or "/" in file_name or ".." in file_name or "\0" in file_name
            or file_name.startswith("-") or len(file_name) > 255 or file_name in (".",)):
        raise Malformed("invalid file_name %r" % file_name[:100])
    code = string("code")
    compile_cmd = argv("compile", True)
    run_cmd = argv("run", True)
    call_cmd = argv("call", True)
    limits = job.get("limits")
    if not isinstance(limits, dict):
        raise Malformed("limits must be an object")
    bounds = {"time_ms": (1, 600000), "memory_mb": (8, 1 << 20), "output_kb": (1, 1 << 20)}
    clean_limits = {}
    for key, (lo, hi) in bounds.items():
        v = limits.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise Malformed("limits.%s must be an integer in [%d, %d]" % (key, lo, hi))
        clean_limits[key] = v
    tests = job.get("tests")
    if not isinstance(tests, list):
        raise Malformed("tests must be a list")
    clean_tests = []
    for i, t in enumerate(tests):
        if not isinstance(t, dict):
            raise Malformed("tests[%d] is not an object" % i)
        name = t.get("name")
        if not isinstance(name, str):
            raise Malformed("tests[%d].name must be a string" % i)
        kind = t.get("kind")
        if kind == "io":
            if run_cmd is None:
                raise Malformed("an io test needs a run command")
            stdin = t.get("stdin", "")
            if stdin is None:
                stdin = ""
            exp = t.get("expected_stdout")
            if not isinstance(stdin, str) or not isinstance(exp, str):
                raise Malformed("tests[%d]: stdin and expected_stdout must be strings" % i)
            clean_tests.append({"kind": "io", "name": name, "stdin": stdin,
                                "expected_stdout": exp})
        elif kind == "call":
            if call_cmd is None:
                raise Malformed("a call test needs a call command")
            expr = t.get("call")
            expected = t.get("expected")
            raises = t.get("raises")
            if not isinstance(expr, str) or not expr.strip() or "\0" in expr:
                raise Malformed("tests[%d].call must be a non-empty string" % i)
            if raises is not None:
                if not isinstance(raises, str) or not raises:
                    raise Malformed("tests[%d].raises must be a string or null" % i)
                expected_value = None
            else:
                if not isinstance(expected, str):
                    raise Malformed("tests[%d].expected must be a string when raises is null" % i)
                ok, expected_value = parse_literal(expected)
                if not ok:
                    raise Malformed("tests[%d].expected is not a Python literal: %s"
                                    % (i, expected[:100]))
            clean_tests.append({"kind": "call", "name": name, "call": expr,
                                "expected": expected, "expected_value": expected_value,
                                "raises": raises})
        else:
            raise Malformed("tests[%d].kind must be \"io\" or \"call\"" % i)
    return {"file_name": file_name, "code": code, "compile": compile_cmd, "run": run_cmd,
            "call": call_cmd, "limits": clean_limits, "tests": clean_tests}


def run_io_test(job, test):
    limits = job["limits"]
    out = run_child(job["run"], limits, stdin_data=test["stdin"].encode("utf-8"))
    if out.spawn_error:
        return "error", out.spawn_error, out.duration_ms
    verdict = limit_verdict(out, limits)
    if verdict:
        return verdict[0], verdict[1], out.duration_ms
    if out.returncode != 0:
        status, message = describe_failure(out, job["file_name"], limits)
        return status, message, out.duration_ms
    diff = compare_output(test["expected_stdout"], decode(out.stdout))
    if diff is None:
        return "passed", None, out.duration_ms
    return "failed", cap(diff), out.duration_ms


def run_call_test(job, test):
    limits = job["limits"]
    file_name = job["file_name"]
    expr = test["call"]
    out = run_child(list(job["call"]) + [expr], limits, want_result=True)
    if out.spawn_error:
        return "error", out.spawn_error, out.duration_ms
    verdict = limit_verdict(out, limits)
    if verdict:
        return verdict[0], verdict[1], out.duration_ms
    res = parse_result(out.result)
    if res is None:
        if out.returncode != 0:
            status, message = describe_failure(out, file_name, limits)
            return status, message, out.duration_ms
        if out.result:
            return "error", "the program produced an unreadable result", out.duration_ms
        return ("error", "the program exited before %s returned" % quote(expr, 100),
                out.duration_ms)
    short = expr if len(expr) <= 100 else expr[:99] + "\u2026"
    if res["ok"]:
        got = res.get("repr")
        if not isinstance(got, str):
            return "error", "the program produced an unreadable result", out.duration_ms
        if test["raises"] is not None:
            return ("failed", cap("%s returned %s, expected it to raise %s"
                                  % (short, cap(got, 300), test["raises"])), out.duration_ms)
        ok, value = parse_literal(got)
        if ok and values_equal(value, test["expected_value"]):
            return "passed", None, out.duration_ms
        return ("failed", cap("%s returned %s, expected %s"
                              % (short, cap(got, 500), cap(test["expected"], 500))),
                out.duration_ms)
    etype = res.get("type") if isinstance(res.get("type"), str) else "Exception"
    emsg = res.get("message") if isinstance(res.get("message"), str) else ""
    where = res.get("where") if isinstance(res.get("where"), str) else None
    described = etype + (": " + cap(emsg, 500) if emsg else "")
    if where:
        described += " (%s)" % where
    if test["raises"] is not None:
        if etype == test["raises"]:
            return "passed", None, out.duration_ms
        return ("failed", cap("%s raised %s, expected %s" % (short, described, test["raises"])),
                out.duration_ms)
    if etype == "MemoryError":
        return ("memory_limit", cap("the program ran out of memory (limit %d MiB)%s"
                                    % (limits["memory_mb"], " at " + where if where else "")),
                out.duration_ms)
    return "error", cap(described), out.duration_ms


def run_job(job):
    limits = job["limits"]
    file_name = job["file_name"]
    path = os.path.join(WORKDIR, file_name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(job["code"])
    report = {"compile": {"ok": True, "message": ""}, "tests": []}
    if job["compile"] is not None:
        out = run_child(job["compile"], limits)
        if out.spawn_error:
            report["compile"] = {"ok": False, "message": out.spawn_error}
            return report
        verdict = limit_verdict(out, limits, what="the compile step")
        if verdict:
            report["compile"] = {"ok": False, "message": verdict[1]}
            return report
        if out.returncode != 0:
            text = tidy_compile_output(decode(out.stdout) + decode(out.stderr), file_name)
            if not text:
                text = "the compile step failed with status %s" % out.returncode
            report["compile"] = {"ok": False, "message": text}
            return report
    # Whatever is in the work directory now (the source, the compiler's output) stays; what a
    # test adds is removed before the next one.
    try:
        keep = frozenset(os.listdir(WORKDIR))
    except OSError:
        keep = frozenset([file_name])
    stop_reason = None
    for test in job["tests"]:
        name = test["name"][:200]
        if stop_reason:
            report["tests"].append({"name": name, "status": "skipped",
                                    "message": "not run: an earlier test hit a limit",
                                    "duration_ms": 0})
            continue
        if test["kind"] == "io":
            status, message, ms = run_io_test(job, test)
        else:
            status, message, ms = run_call_test(job, test)
        clean_dirs(keep)
        report["tests"].append({"name": name, "status": status, "message": cap(message),
                                "duration_ms": ms})
        if status in LIMIT_STATUSES:
            stop_reason = status
    return report


# ---------------------------------------------------------------------------------------------
# Entry point

_NONCE = re.compile(rb'"nonce"\s*:\s*"([0-9a-fA-F]{1,128})"')


def read_job():
    chunks = []
    total = 0
    while total <= MAX_JOB_BYTES:
        try:
            chunk = os.read(0, 1 << 20)
        except InterruptedError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def emit(nonce, report):
    line = (nonce + " " + json.dumps(report, ensure_ascii=True, separators=(",", ":"))
            + "\n").encode("ascii")
    view = memoryview(line)
    while view:
        n = os.write(1, view)
        view = view[n:]


def malformed_report(reason):
    return {"compile": {"ok": False, "message": cap("malformed job: " + reason)},
            "tests": [], "internal_error": cap("malformed job: " + reason)}


def main():
    # First: nobody else with our uid may read our memory, environment or descriptors.
    try:
        prctl(PR_SET_DUMPABLE, 0)
    except OSError as e:
        print("runner: cannot make the runner non-dumpable: %s" % e, file=sys.stderr)
        return 2
    # A same-uid process may signal us; SIGINT is the only one Python would act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not IS_PID1:
        try:
            prctl(PR_SET_CHILD_SUBREAPER, 1)
        except OSError:
            pass
    reserve_fd3()

    raw = read_job()
    # Done with the job's stream: fd 0 becomes /dev/null so no pipe of ours ever lands there.
    devnull = os.open("/dev/null", os.O_RDONLY)
    if devnull != 0:
        os.dup2(devnull, 0, inheritable=False)
        os.close(devnull)
    # If the job cannot be parsed, a nonce found by pattern still gets a report out.
    m = _NONCE.search(raw[:MAX_JOB_BYTES + 1])
    report_nonce = m.group(1).decode("ascii") if m else None
    try:
        if len(raw) > MAX_JOB_BYTES:
            raise Malformed("the job is larger than %s" % fmt_bytes(MAX_JOB_BYTES))
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise Malformed("the job is not valid JSON: %s" % e)
        nonce = doc.get("nonce") if isinstance(doc, dict) else None
        if not isinstance(nonce, str) or not re.fullmatch(r"[0-9a-fA-F]{1,128}", nonce):
            report_nonce = None
            raise Malformed("nonce must be a hex string")
        report_nonce = nonce
        job = validate(doc)
    except Malformed as e:
        if report_nonce is None:
            print("runner: malformed job and no nonce: %s" % e, file=sys.stderr)
            return 2
        emit(report_nonce, malformed_report(str(e)))
        return 0
    del raw, doc

    try:
        report = run_job(job)
    except Exception as e:  # a bug of ours or a broken container: say so, never pass
        import traceback
        traceback.print_exc(file=sys.stderr)
        report = {"compile": {"ok": False, "message": "internal error of the test runner"},
                  "tests": [], "internal_error": cap("runner: %s: %s" % (type(e).__name__, e))}
    kill_everything()
    emit(nonce, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
