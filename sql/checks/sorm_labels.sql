-- The columns the sorm_labels suite reads (factory/expectations/suites.py): one row per row of
-- the candidate table, with the rules across rows turned into columns (step_rules, sql/macros.sql).
with labels as (
    select * from step_rules('candidate')
),

final as (
    select
        rollout_id, step,  -- the keys name failing rows in errors
        rows_per_key, has_ids, expected_step, label, raw_label, next_label,
        n_verifiers, n_correct, n_consistent
    from labels
)

select * from final
