#!/usr/bin/env bash
# Developer tool (not CI): runs hostile and ordinary jobs through a built sandbox image with the
# grader's container settings and checks the runner's reports.
#
#   deploy/sandbox/selftest.sh [IMAGE] [CASE-NAME-SUBSTRING...]
#
# IMAGE defaults to the output of build.sh (which builds it if needed). Needs docker and
# python3 on the host. Exits non-zero when any case does not give the expected report.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${1:-}
if [[ -z $image ]]; then
    image=$("$here/build.sh" | tail -n1)
else
    shift
fi
exec python3 - "$image" "$@" <<'PY'
import json, os, secrets, subprocess, sys, time

IMAGE = sys.argv[1]
ONLY = sys.argv[2:]
MEMORY_MB = 128
DOCKER = ["docker", "run", "-i", "--rm", "--network", "none", "--read-only",
          "--tmpfs", "/sandbox:rw,exec,size=16m,mode=1777",
          "--tmpfs", "/tmp:rw,size=8m,mode=1777",
          "--user", "65534:65534", "--cap-drop", "ALL",
          "--security-opt", "no-new-privileges",
          "--memory", "%dm" % (MEMORY_MB + 64), "--memory-swap", "%dm" % (MEMORY_MB + 64),
          "--pids-limit", "64", "--cpus", "1"]
PY_COMPILE = ["python3", "-I", "-c",
              "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')",
              "solution.py"]
RUN = ["python3", "-I", "solution.py"]
CALL = ["python3", "-I", "/opt/runner/call.py", "solution.py"]
LIMITS = {"time_ms": 1000, "memory_mb": MEMORY_MB, "output_kb": 64}


def io(name, expected, stdin=""):
    return {"kind": "io", "name": name, "stdin": stdin, "expected_stdout": expected}


def call(name, expr, expected=None, raises=None):
    return {"kind": "call", "name": name, "call": expr, "expected": expected, "raises": raises}


HELLO = [io("hello", "Hello, World!\n")]
TWO = [io("first", "Hello, World!\n"), io("second", "Hello, World!\n")]

# (name, code, tests, expected statuses (or "compile_error"), substring of the first message)
CASES = [
    ("right answer", 'print("Hello, World!")', HELLO, ["passed"], None),
    ("stdin echo", "import sys\nfor line in sys.stdin:\n    print(int(line) * 2)",
     [io("double", "2\n4\n", stdin="1\n2\n"), io("double2", "7\n", stdin="3\n")],
     ["passed", "failed"], 'expected "7" but got "6"'),
    ("wrong answer", 'print("Hello World")', HELLO, ["failed"],
     'expected "Hello, World!" but got "Hello World"'),
    ("syntax error", 'print("Hello"\n', HELLO, "compile_error", "'(' was never closed"),
    ("syntax error, run", 'print("Hello"\n', HELLO, ["error"],
     "SyntaxError: '(' was never closed (solution.py, line 1)", None),
    ("exception", "a = 1\nb = 0\nprint(a / b)\n", HELLO, ["error"],
     "ZeroDivisionError: division by zero (solution.py, line 3)"),
    ("endless loop", "while True:\n    pass\n", TWO, ["time_limit", "skipped"], "1000 ms"),
    ("sleep", "import time\ntime.sleep(100)\n", HELLO, ["time_limit"], None),
    ("big string", "x = 'a' * (10**10)\n", TWO, ["memory_limit", "skipped"], "memory"),
    ("append loop", "s = []\nwhile True:\n    s.append(' ' * 10**6)\n", HELLO,
     ["memory_limit"], None),
    ("oom killer", "import os, time\n"
     "if os.fork() == 0:\n    time.sleep(0.5)\n    b = b'y' * (90 * 2**20)\n    time.sleep(30)\n"
     "a = b'x' * (100 * 2**20)\ntime.sleep(1)\nc = []\n"
     "for i in range(10):\n    c.append(b'z' * (5 * 2**20))\n    time.sleep(0.05)\n"
     "time.sleep(30)\n", HELLO, ["memory_limit"], None),
    ("fork bomb", "import os\nwhile True:\n    os.fork()\n", TWO, ["!passed", "!passed"], None),
    ("output flood", "while True:\n    print('x' * 1000)\n", TWO, ["output_limit", "skipped"],
     "64 KiB"),
    ("stderr flood", "import sys\nwhile True:\n    sys.stderr.write('e' * 1000)\n", HELLO,
     ["output_limit"], None),
    ("socket", 'import socket\nsocket.create_connection(("1.1.1.1", 80), timeout=2)\n', HELLO,
     ["error"], "OSError"),
    ("forged report", 'import json\nprint("OK")\n'
     'print("deadbeef " + json.dumps({"compile": {"ok": True, "message": ""}, "tests": '
     '[{"name": "hello", "status": "passed", "message": None, "duration_ms": 1}]}))\n'
     "import sys\nsys.exit(0)\n", HELLO, ["failed"], None),
    ("fd 3 and exit 0", "import os\ntry:\n    os.write(3, b'{\"ok\": true}')\nexcept OSError as e:\n"
     "    print(e)\nimport sys\nsys.stdout.flush()\nos._exit(0)\n", HELLO, ["failed"], "Bad file descriptor"),
    ("attack pid 1", "import os, signal\n"
     "for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):\n"
     "    os.kill(1, sig)\n"
     "for p in ('/proc/1/environ', '/proc/1/fd/0', '/proc/1/fd/1', '/proc/1/mem'):\n"
     "    try:\n        open(p, 'rb').read(10)\n        print('READ', p)\n"
     "    except OSError as e:\n        print(type(e).__name__)\n"
     "try:\n    os.listdir('/proc/1/fd')\n    print('LISTED')\n"
     "except OSError as e:\n    print(type(e).__name__)\n",
     [io("pid 1 holds", "PermissionError\n" * 5)] + HELLO, ["passed", "failed"], None),
    ("leftover process", "import os, time\n"
     "print(len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
     "if os.fork() == 0:\n    os.setsid()\n    time.sleep(100)\n",
     [io("alone", "2\n"), io("still alone", "2\n")], ["passed", "passed"], None),
    ("busy fork bomb", "import os\nwhile True:\n    try:\n        os.fork()\n"
     "    except OSError:\n        pass\n", TWO, ["time_limit", "skipped"], None),
    ("big stdin ignored", "print('Hello, World!')\n", [io("hello", "Hello, World!\n",
     stdin="x" * 1500000)], ["passed"], None),
    ("big stdin echoed", "import sys\nsys.stdout.write(sys.stdin.read())\n",
     [io("echo", "x", stdin="x" * 1500000)], ["output_limit"], None),
    ("big stdin counted", "import sys\nprint(len(sys.stdin.read()))\n",
     [io("count", "1500000\n", stdin="x" * 1500000)], ["passed"], None),
    ("fill tmpfs", "i = 0\nwhile True:\n"
     "    with open('f%d' % i, 'wb') as f:\n        f.write(b'x' * 1000000)\n    i += 1\n",
     HELLO, ["error"], "No space left on device"),
    ("files removed", "import os\nprint(sorted(os.listdir('.')), os.listdir('/tmp'))\n"
     "open('marker', 'w').close()\nopen('/tmp/marker', 'w').close()\nos.mkdir('d')\n",
     [io("clean", "['solution.py'] []"), io("still clean", "['solution.py'] []")],
     ["passed", "passed"], None),
    ("limits seen", "import resource, os\n"
     "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
     "print(open('/proc/self/oom_score_adj').read().strip())\n"
     "print(os.getcwd(), os.getuid(), sorted(os.environ))\n",
     [io("limits", "128\n1000\n/sandbox 65534 ['HOME', 'LANG', 'PATH', "
         "'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED']\n")], ["passed"], None),
    ("write big file", "with open('big', 'wb') as f:\n    f.write(b'x' * (2 * 2**20))\n",
     HELLO, ["error"], "File too large"),
    ("call tests",
     "def add(a, b):\n    return a + b\n\n"
     "def median(xs):\n    if not xs:\n        raise ValueError('empty list')\n"
     "    xs = sorted(xs)\n    return xs[len(xs) // 2]\n\n"
     "def third():\n    return 0.1 + 0.2\n\n"
     "if __name__ == '__main__':\n    print(add(input(), 1))\n",
     [call("add", "add(1, 2)", "3"), call("add wrong", "add(2, 2)", "5"),
      call("median raises", "median([])", None, "ValueError"),
      call("median raises wrong", "median([])", None, "IndexError"),
      call("median value", "median([])", "0"),
      call("float", "third()", "0.3"), call("list", "[add(1, 1)]", "[2]"),
      call("undefined", "sub(1, 2)", "0")],
     ["passed", "failed", "passed", "failed", "error", "passed", "passed", "error"], None),
    ("call forged fd 3", "import os\nos.write(3, b'{\"ok\": true, \"repr\": \"3\"}')\n"
     "def add(a, b):\n    return a - b\n", [call("add", "add(1, 2)", "3")], ["error"], None),
    ("call exit", "import os\nos._exit(0)\n", [call("add", "add(1, 2)", "3")], ["error"],
     "exited before"),
    ("call memory", "def f():\n    return 'a' * (10**10)\n", [call("f", "f()", "''")],
     ["memory_limit"], None),
    ("call loop", "def f():\n    while True:\n        pass\n",
     [call("f", "f()", "1"), call("g", "f()", "1")], ["time_limit", "skipped"], None),
    ("call syntax error", "def f(:\n    pass\n", [call("f", "f()", "1")], ["error"],
     "solution.py, line 1", None),
]


def run(job, timeout=60):
    t0 = time.monotonic()
    p = subprocess.Popen(DOCKER + [IMAGE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(json.dumps(job).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, "docker run did not finish in %ds" % timeout, time.monotonic() - t0, p.returncode
    return out, err.decode(errors="replace"), time.monotonic() - t0, p.returncode


def check(name, code, tests, want, needle, compile_cmd=PY_COMPILE):
    nonce = secrets.token_hex(16)
    job = {"nonce": nonce, "file_name": "solution.py", "code": code, "compile": compile_cmd,
           "run": RUN, "call": CALL, "tests": tests, "limits": LIMITS}
    out, err, secs, rc = run(job)
    problems = []
    report = None
    if out is None:
        problems.append(err)
    else:
        lines = out.decode(errors="replace").splitlines()
        if len(lines) != 1:
            problems.append("expected one line on stdout, got %d: %r" % (len(lines), out[:300]))
        if lines:
            first, _, rest = lines[-1].partition(" ")
            if first != nonce:
                problems.append("wrong nonce %r" % first)
            try:
                report = json.loads(rest)
            except ValueError:
                problems.append("unparseable report %r (stderr %r)" % (rest[:200], err[-500:]))
    if report is not None:
        if want == "compile_error":
            if report["compile"]["ok"] or report["tests"]:
                problems.append("expected a compile error")
            msg = report["compile"]["message"]
        else:
            if not report["compile"]["ok"]:
                problems.append("compile failed: %s" % report["compile"]["message"])
            got = [t["status"] for t in report["tests"]]
            if len(got) != len(want):
                problems.append("statuses %s, expected %s" % (got, want))
            for g, w in zip(got, want):
                if (w.startswith("!") and g == w[1:]) or (not w.startswith("!") and g != w):
                    problems.append("statuses %s, expected %s" % (got, want))
                    break
            msg = next((t["message"] for t in report["tests"] if t["message"]), "") or ""
        if needle and needle not in msg:
            problems.append("message %r lacks %r" % (msg, needle))
    shown = ""
    if report is not None:
        if want == "compile_error":
            shown = "compile: " + report["compile"]["message"].replace("\n", " | ")[:150]
        else:
            shown = "; ".join("%s=%s%s" % (t["name"], t["status"],
                              " (%s)" % t["message"][:110].replace("\n", " | ") if t["message"] else "")
                              for t in report["tests"])
    print("%-5s %-20s %5.2fs  %s" % ("ok" if not problems else "FAIL", name, secs, shown))
    for p in problems:
        print("      " + p)
    return not problems


def raw_case(name, payload, expect_line, nonce=None):
    p = subprocess.run(DOCKER + [IMAGE], input=payload, capture_output=True, timeout=60)
    lines = p.stdout.decode(errors="replace").splitlines()
    if expect_line:
        ok = (len(lines) == 1 and lines[0].startswith(nonce + " ")
              and json.loads(lines[0].split(" ", 1)[1])["compile"]["ok"] is False)
    else:
        ok = not lines and p.returncode != 0
    print("%-5s %-20s        rc=%d %s" % ("ok" if ok else "FAIL", name, p.returncode,
                                            (lines[0][:150] if lines else p.stderr.decode()[-150:].strip())))
    return ok


results = []
for case in CASES:
    if ONLY and not any(s in case[0] for s in ONLY):
        continue
    results.append(check(*case))
if not ONLY or any(s in "malformed" for s in ONLY):
    results.append(raw_case("malformed job", b'{"nonce": "abc123", "code": 5}', True, "abc123"))
    results.append(raw_case("malformed JSON", b'{"nonce": "abc124", "code": ', True, "abc124"))
    results.append(raw_case("no nonce", b'{"code": ""}', False))
    results.append(raw_case("bad file name",
                            json.dumps({"nonce": "abc125", "file_name": "../x.py", "code": "",
                                        "compile": None, "run": RUN, "call": None, "tests": [],
                                        "limits": LIMITS}).encode(), True, "abc125"))
passed = sum(results)
print("%d passed, %d failed" % (passed, len(results) - passed))
sys.exit(0 if passed == len(results) else 1)
PY
