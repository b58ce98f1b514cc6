"""Evaluates one expression against a Python submission, for the runner's "call" tests.

    python3 -I /opt/runner/call.py solution.py 'add(1, 2)'

Loads the file as the module ``solution`` (its module-level code runs with __name__ ==
"solution", so an ``if __name__ == "__main__":`` block does not), evaluates the expression in
the module's namespace and writes ONE JSON object to file descriptor 3, which the runner
opened as a pipe:

    {"ok": true, "repr": "3"}
    {"ok": false, "type": "ValueError", "message": "...", "where": "solution.py, line 4"}

The runner, not this process, decides whether the value is right: nothing here knows the
expected value. Whatever the submission writes to fd 3 itself only replaces its own answer.
"""

import json
import os
import sys
import types

MAX_REPR = 900 * 1024


def _where(tb, file_name):
    """'solution.py, line N' of the innermost frame in the submission, or None."""
    where = None
    paths = (file_name, os.path.abspath(file_name))
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in paths:
            where = "%s, line %d" % (file_name, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _describe(exc, file_name):
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<unprintable %s>" % type(exc).__name__
    where = _where(exc.__traceback__, file_name)
    if (isinstance(exc, SyntaxError) and where is None and exc.lineno
            and exc.filename in (file_name, os.path.abspath(file_name))):
        where = "%s, line %d" % (file_name, exc.lineno)
        message = exc.msg or message
    return {"ok": False, "type": type(exc).__name__, "message": message[:4000], "where": where}


def main():
    if len(sys.argv) != 3:
        print("usage: call.py FILE EXPRESSION", file=sys.stderr)
        return 2
    file_name, expression = sys.argv[1], sys.argv[2]
    # The submission sees the same argv as when it runs as a program.
    sys.argv = [file_name]
    try:
        out = os.fdopen(3, "w", encoding="utf-8", closefd=True)
    except OSError as e:
        print("call.py: fd 3 is not open: %s" % e, file=sys.stderr)
        return 2

    def report(obj):
        data = json.dumps(obj, ensure_ascii=True)
        out.write(data)
        out.flush()

    try:
        with open(file_name, "rb") as f:
            source = f.read()
        module = types.ModuleType("solution")
        module.__file__ = os.path.abspath(file_name)
        module.__builtins__ = __builtins__
        sys.modules["solution"] = module
        code = compile(source, file_name, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        target = compile(expression, "<test>", "eval", dont_inherit=True)
        value = eval(target, module.__dict__)
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError("__repr__ returned a non-string")
    except KeyboardInterrupt:
        raise
    except SystemExit as e:
        report({"ok": False, "type": "SystemExit",
                "message": "the program called exit(%s) instead of returning" % (e.code,),
                "where": _where(e.__traceback__, file_name)})
        return 0
    except BaseException as e:
        report(_describe(e, file_name))
        return 0
    if len(text) > MAX_REPR:
        report({"ok": True, "repr": text[:MAX_REPR]})
        return 0
    report({"ok": True, "repr": text})
    return 0


if __name__ == "__main__":
    code = main()
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    os._exit(code)
