-- A ready course of Python exercises, from "hello" to functions with edge cases. Its owner is
-- a staff account without a password (it cannot sign in); teachers get their own accounts.

INSERT INTO users (username, display_name, password_hash, role)
VALUES ('course-staff', 'Course staff', NULL, 'teacher');

INSERT INTO courses (title, description, owner_id)
SELECT 'Python basics', 'Eight short exercises: printing, input, conditions, loops and functions.', id
FROM users WHERE username = 'course-staff';

INSERT INTO participants (course_id, user_id, role)
SELECT c.id, c.owner_id, 'teacher' FROM courses c WHERE c.title = 'Python basics';

INSERT INTO assignments (course_id, position, title, handout, runtime, starter_code, tests)
SELECT c.id, a.position, a.title, a.handout, 'python3', a.starter_code, a.tests::jsonb
FROM courses c,
(VALUES
(1, 'Hello, World!',
$md$Write a program that prints exactly

```
Hello, World!
```$md$,
$py$print("")
$py$,
$json$[{"kind": "io", "name": "prints the greeting", "stdin": "", "expected_stdout": "Hello, World!\n"}]$json$),

(2, 'Greet by name',
$md$Read a name from standard input (one line) and print `Hello, <name>!`.

For the input `Ada` the output is `Hello, Ada!`.$md$,
$py$name = input()
$py$,
$json$[
 {"kind": "io", "name": "greets Ada", "stdin": "Ada\n", "expected_stdout": "Hello, Ada!\n"},
 {"kind": "io", "name": "greets a name with spaces", "stdin": "Grace Hopper\n", "expected_stdout": "Hello, Grace Hopper!\n"}
]$json$),

(3, 'Sum of two numbers',
$md$The input is one line with two integers separated by a space. Print their sum.

| input | output |
|---|---|
| `2 3` | `5` |
| `-4 10` | `6` |$md$,
$py$a, b = input().split()
$py$,
$json$[
 {"kind": "io", "name": "adds small numbers", "stdin": "2 3\n", "expected_stdout": "5\n"},
 {"kind": "io", "name": "adds negative numbers", "stdin": "-4 10\n", "expected_stdout": "6\n"},
 {"kind": "io", "name": "adds big numbers", "stdin": "123456789012 987654321098\n", "expected_stdout": "1111111110110\n"}
]$json$),

(4, 'Even or odd',
$md$Write a function `is_even(n)` that returns `True` when the integer `n` is even and `False`
otherwise. Zero is even, and so are negative even numbers.$md$,
$py$def is_even(n):
    pass
$py$,
$json$[
 {"kind": "call", "name": "4 is even", "call": "is_even(4)", "expected": "True"},
 {"kind": "call", "name": "7 is odd", "call": "is_even(7)", "expected": "False"},
 {"kind": "call", "name": "0 is even", "call": "is_even(0)", "expected": "True"},
 {"kind": "call", "name": "-3 is odd", "call": "is_even(-3)", "expected": "False"}
]$json$),

(5, 'FizzBuzz',
$md$Write a function `fizzbuzz(n)` that returns a list of the strings for the numbers 1 to `n`:
`"Fizz"` for multiples of 3, `"Buzz"` for multiples of 5, `"FizzBuzz"` for multiples of both,
and the number itself (as a string) otherwise. `fizzbuzz(0)` is an empty list.$md$,
$py$def fizzbuzz(n):
    return []
$py$,
$json$[
 {"kind": "call", "name": "first five", "call": "fizzbuzz(5)", "expected": "['1', '2', 'Fizz', '4', 'Buzz']"},
 {"kind": "call", "name": "fifteen is FizzBuzz", "call": "fizzbuzz(15)[-1]", "expected": "'FizzBuzz'"},
 {"kind": "call", "name": "zero gives an empty list", "call": "fizzbuzz(0)", "expected": "[]"}
]$json$),

(6, 'Safe division',
$md$Write a function `safe_divide(a, b)` that returns `a / b`, or `None` when `b` is zero.$md$,
$py$def safe_divide(a, b):
    return a / b
$py$,
$json$[
 {"kind": "call", "name": "divides", "call": "safe_divide(10, 4)", "expected": "2.5"},
 {"kind": "call", "name": "division by zero gives None", "call": "safe_divide(1, 0)", "expected": "None"},
 {"kind": "call", "name": "zero divided", "call": "safe_divide(0, 5)", "expected": "0.0"}
]$json$),

(7, 'Word count',
$md$Write a function `word_count(text)` that returns a dictionary from each word (lower-cased)
to the number of times it appears. Words are separated by whitespace. An empty text gives `{}`.$md$,
$py$def word_count(text):
    return {}
$py$,
$json$[
 {"kind": "call", "name": "counts repeated words", "call": "word_count('the cat and the hat')", "expected": "{'the': 2, 'cat': 1, 'and': 1, 'hat': 1}"},
 {"kind": "call", "name": "ignores case", "call": "word_count('Go go GO')", "expected": "{'go': 3}"},
 {"kind": "call", "name": "empty text", "call": "word_count('')", "expected": "{}"},
 {"kind": "call", "name": "only whitespace", "call": "word_count('  \\n\\t ')", "expected": "{}"}
]$json$),

(8, 'Median',
$md$Write a function `median(values)` that returns the median of a list of numbers: the middle
value of the sorted list, or the mean of the two middle values when the list has an even
length. An empty list raises `ValueError`. Do not change the list you are given.$md$,
$py$def median(values):
    pass
$py$,
$json$[
 {"kind": "call", "name": "odd length", "call": "median([3, 1, 2])", "expected": "2"},
 {"kind": "call", "name": "even length", "call": "median([4, 1, 3, 2])", "expected": "2.5"},
 {"kind": "call", "name": "single value", "call": "median([7])", "expected": "7"},
 {"kind": "call", "name": "empty list raises ValueError", "call": "median([])", "raises": "ValueError"},
 {"kind": "call", "name": "leaves its input alone", "call": "(lambda v: (median(v), v))([3, 1, 2])", "expected": "(2, [3, 1, 2])"}
]$json$)
) AS a (position, title, handout, starter_code, tests)
WHERE c.title = 'Python basics';
