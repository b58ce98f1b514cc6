-- Questions pinned to code (hub): a thread is anchored to a range of one file by two Yjs
-- relative positions (`anchor_start`, `anchor_end`, as `Y.encodeRelativePosition` encodes
-- them), so the range moves with edits above it. `quote` keeps the lines the range covered
-- when the thread was opened, which the thread still shows once that text is deleted.
-- `visibility`: `private` (the asker, the project's owner and members, the course's teachers)
-- or `course` (everyone taking part in the course).

CREATE TABLE code_threads (
    id           BIGSERIAL PRIMARY KEY,
    project_id   BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    file_id      BIGINT      NOT NULL REFERENCES project_files (id) ON DELETE CASCADE,
    author_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    visibility   TEXT        NOT NULL CHECK (visibility IN ('private', 'course')),
    anchor_start BYTEA       NOT NULL,
    anchor_end   BYTEA       NOT NULL,
    quote        TEXT        NOT NULL,
    quote_line   INT         NOT NULL,
    resolved     BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX code_threads_by_project ON code_threads (project_id, created_at);
CREATE INDEX code_threads_open ON code_threads (created_at DESC) WHERE NOT resolved;

CREATE TABLE thread_comments (
    id         BIGSERIAL PRIMARY KEY,
    thread_id  BIGINT      NOT NULL REFERENCES code_threads (id) ON DELETE CASCADE,
    author_id  BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at  TIMESTAMPTZ
);

CREATE INDEX thread_comments_by_thread ON thread_comments (thread_id, id);
