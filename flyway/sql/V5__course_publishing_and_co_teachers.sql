-- Roles: a course is in the catalogue only once its owner publishes it, and teachers invite
-- co-teachers, who teach the course once they accept.

ALTER TABLE courses ADD COLUMN published BOOLEAN NOT NULL DEFAULT FALSE;

-- The seeded course was in everybody's catalogue; it stays there. Other existing courses wait
-- for their owners to publish them: anybody could make themselves a teacher until now.
UPDATE courses SET published = TRUE
WHERE owner_id IN (SELECT id FROM users WHERE username = 'course-staff' AND password_hash IS NULL);

-- An invitation to teach a course, until the invitee accepts it (then a `participants` row
-- with the role `teacher`) or declines it, or the owner withdraws it.
CREATE TABLE course_invitations (
    course_id  BIGINT      NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (course_id, user_id)
);

CREATE INDEX course_invitations_by_user ON course_invitations (user_id);
