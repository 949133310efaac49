-- What hookcli answered the sender: 200, 401 with --reject-invalid, and with --passthrough
-- the app's status or 502. NULL for imported captures and those stored before this column.
ALTER TABLE captures ADD COLUMN answered INTEGER;
