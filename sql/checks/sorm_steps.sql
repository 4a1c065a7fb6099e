-- The columns the sorm_steps suite reads: a balanced subset of sorm_labels keeps its labels'
-- rules, and counts both classes at every step number.
with labels as (
    select * from candidate
),

final as (
    select
        count(*) over (partition by rollout_id, step) as rows_per_key,
        rollout_id is not null and question_id is not null as has_ids,
        label,
        raw_label,
        lead(label) over (partition by rollout_id order by step) as next_label,
        count(*) filter (where label = 1) over (partition by step) as positives_at_step,
        count(*) filter (where label = 0) over (partition by step) as negatives_at_step
    from labels
)

select * from final
