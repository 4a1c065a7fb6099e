-- The columns the orm_steps suite reads: one row per row of the candidate table, with the
-- rules across rows turned into columns.
with steps as (
    select * from candidate
),

final as (
    select
        rollout_id,  -- the keys name failing rows in errors
        step,
        count(*) over (partition by rollout_id, step) as rows_per_key,
        rollout_id is not null and question_id is not null as has_ids,
        row_number() over (partition by rollout_id order by step) as expected_step,
        label
    from steps
)

select * from final
