-- A teacher tries a reference solution against an assignment's tests before saving it. A trial
-- belongs to no assignment and is nobody's submission: it is graded by the same graders, from
-- the same stream, and only its author reads the outcome. Its id comes from the submissions'
-- sequence, so that a job on the stream and its results never share an id with a submission.
CREATE TABLE trials (
    id          BIGINT      PRIMARY KEY DEFAULT nextval('submissions_id_seq'),
    course_id   BIGINT      NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The tests as tried (see contracts::TestCase): the outcome names which were hidden.
    tests       JSONB       NOT NULL CHECK (jsonb_typeof(tests) = 'array'),
    status      TEXT        NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'grading', 'graded', 'error')),
    -- What the grader reported last: verdict, per-test outcomes and feedback.
    outcome     JSONB,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);

-- A teacher's unfinished trials: the per-user cap and the backlog.
CREATE INDEX trials_unfinished ON trials (user_id, created_at)
    WHERE status IN ('queued', 'grading');
