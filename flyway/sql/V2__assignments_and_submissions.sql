-- Exercises and the solutions submitted to them.

CREATE TABLE assignments (
    id              BIGSERIAL PRIMARY KEY,
    course_id       BIGINT      NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    position        INTEGER     NOT NULL,
    title           TEXT        NOT NULL,
    -- Markdown shown to students.
    handout         TEXT        NOT NULL,
    runtime         TEXT        NOT NULL,
    starter_code    TEXT        NOT NULL DEFAULT '',
    -- Array of test cases, see contracts::TestCase. Never shown to students.
    tests           JSONB       NOT NULL CHECK (jsonb_typeof(tests) = 'array'),
    time_limit_ms   INTEGER     NOT NULL DEFAULT 2000 CHECK (time_limit_ms BETWEEN 100 AND 30000),
    memory_limit_mb INTEGER     NOT NULL DEFAULT 128 CHECK (memory_limit_mb BETWEEN 16 AND 1024),
    output_limit_kb INTEGER     NOT NULL DEFAULT 64 CHECK (output_limit_kb BETWEEN 1 AND 4096),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX assignments_by_course ON assignments (course_id, position, id);

CREATE TABLE submissions (
    id            BIGSERIAL PRIMARY KEY,
    assignment_id BIGINT      NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    user_id       BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    runtime       TEXT        NOT NULL,
    code          TEXT        NOT NULL,
    status        TEXT        NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'grading', 'graded', 'error')),
    verdict       TEXT CHECK (verdict IN ('accepted', 'wrong_answer', 'compile_error',
                                          'runtime_error', 'time_limit', 'memory_limit',
                                          'output_limit', 'internal_error')),
    -- Array of per-test outcomes, see contracts::TestOutcome.
    test_results  JSONB       NOT NULL DEFAULT '[]',
    feedback      TEXT        NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ
);

CREATE INDEX submissions_by_user_assignment ON submissions (user_id, assignment_id, id DESC);
CREATE INDEX submissions_by_assignment ON submissions (assignment_id);
