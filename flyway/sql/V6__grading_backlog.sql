-- Postgres is the grading backlog: a submission waits here until the api's dispatcher puts
-- its job on the submissions stream, at most a few of one user's at a time, so that one
-- user's flood does not hold up everybody else's verdicts.

-- When its job was put on the stream (NULL: waiting here), and the stream entry id it got,
-- so that a job Redis lost (a restart without its data, FLUSHALL) can be put there again.
-- The default marks rows an older api inserts during a rolling update as dispatched: that
-- api publishes its jobs itself. The dispatching api inserts NULL explicitly.
ALTER TABLE submissions
    ADD COLUMN dispatched_at TIMESTAMPTZ DEFAULT now(),
    ADD COLUMN stream_entry  TEXT;

-- Whatever is unfinished now was published when it was created.
UPDATE submissions SET dispatched_at = created_at WHERE status IN ('queued', 'grading');
UPDATE submissions SET dispatched_at = NULL WHERE status NOT IN ('queued', 'grading');

-- Unfinished submissions per user: the per-user cap, the dispatcher's counts and the backlog.
CREATE INDEX submissions_unfinished ON submissions (user_id, id)
    WHERE status IN ('queued', 'grading');
