-- A deferred decision's revisit day raises a prompt (issue 5): prompts.kind gains
-- 'decision_revisit'. Keep in step with ../sqlite/0007_decision_revisit.sql.
ALTER TABLE prompts DROP CONSTRAINT prompts_kind_check;
ALTER TABLE prompts ADD CONSTRAINT prompts_kind_check
    CHECK (kind IN ('safety', 'no_progress', 'persistent_impairment', 'deterioration', 'alliance_drop', 'overdue_measure', 'decision_revisit'));
-- Due revisits are found without opening sealed data.
CREATE INDEX decisions_revisit ON decisions(revisit_on) WHERE status = 'deferred';
