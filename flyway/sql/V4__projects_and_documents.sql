-- Collaborative projects (hub): a course's template, participants' projects, their files, who
-- may open whose project. A file's live document is a Yjs document; `document` holds its
-- encoded state and `content` the plain text of its Y.Text "content", both as of the last
-- sync from the update log in Redis, whose entry id the sync covered is `synced_entry_ms/seq`.

CREATE TABLE template_entries (
    course_id BIGINT  NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    path      TEXT    NOT NULL,
    directory BOOLEAN NOT NULL,
    content   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (course_id, path)
);

CREATE TABLE projects (
    id         BIGSERIAL PRIMARY KEY,
    course_id  BIGINT      NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    owner_id   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (course_id, owner_id)
);

CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access     TEXT   NOT NULL CHECK (access IN ('read', 'write')),
    PRIMARY KEY (project_id, user_id)
);

CREATE INDEX project_members_by_user ON project_members (user_id);

CREATE TABLE project_files (
    id              BIGSERIAL PRIMARY KEY,
    project_id      BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    path            TEXT        NOT NULL,
    directory       BOOLEAN     NOT NULL,
    content         TEXT        NOT NULL DEFAULT '',
    document        BYTEA,
    synced_entry_ms  BIGINT     NOT NULL DEFAULT 0,
    synced_entry_seq BIGINT     NOT NULL DEFAULT 0,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (project_id, path)
);
