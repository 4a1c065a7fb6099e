-- The columns the orm_steps suite reads: one row per row of the candidate table, with the
-- rules across rows turned into columns (step_rules, sql/macros.sql).
with steps as (
    select * from step_rules('candidate')
),

final as (
    select
        rollout_id, step,  -- the keys name failing rows in errors
        rows_per_key, has_ids, expected_step, label
    from steps
)

select * from final
