-- 0501: rows of a plan that has not finished (issue 9: a refused input changes nothing).
-- Planning writes a list's rows as 'staged', chunk by chunk, and turns them all 'planned' in one
-- statement once the whole list was read; a list refused half-way (an unterminated quote, the
-- code space too small, an interrupted run) leaves nothing planned. Staged rows were never sent
-- anywhere: a later run of the campaign deletes those a killed run left.
INSERT OR IGNORE INTO issue_states (name, description) VALUES
    ('staged', 'read from a list whose planning has not finished; never sent anywhere');
