-- The columns the sorm_steps suite reads: a balanced subset of sorm_labels keeps its labels'
-- rules, and counts both classes at every step number.
with labels as (
    select * from candidate
),

class_sizes as (
    select
        step,
        count(*) filter (where label = 1) as positives_at_step,
        count(*) filter (where label = 0) as negatives_at_step
    from labels
    group by step
),

final as (
    select
        rollout_id,  -- the keys name failing rows in errors
        step,
        count(*) over (partition by rollout_id, step) as rows_per_key,
        rollout_id is not null and question_id is not null as has_ids,
        label,
        raw_label,
        lead(label) over (partition by rollout_id order by step) as next_label,
        class_sizes.positives_at_step,
        class_sizes.negatives_at_step
    from labels
    join class_sizes using (step)
)

select * from final
