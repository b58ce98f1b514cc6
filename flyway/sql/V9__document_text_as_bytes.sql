-- A document's text may hold any character a Yjs client can send, U+0000 among them, which a
-- TEXT column refuses ("invalid byte sequence for encoding UTF8: 0x00"). `content` keeps the
-- exact UTF-8 bytes of the text instead; the hub reads them back as they were written.

ALTER TABLE project_files ALTER COLUMN content DROP DEFAULT;
ALTER TABLE project_files ALTER COLUMN content TYPE BYTEA USING convert_to(content, 'UTF8');
ALTER TABLE project_files ALTER COLUMN content SET DEFAULT ''::bytea;
