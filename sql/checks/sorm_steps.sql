-- The columns the sorm_steps suite reads: a balanced subset of sorm_labels keeps its labels'
-- rules, and counts both classes at every step number.
with labels as (
    select * from step_rules('candidate')
),

class_sizes as (
    select step, n_positive as positives_at_step, n_negative as negatives_at_step
    from step_class_sizes('candidate')
),

final as (
    select
        rollout_id, step,  -- the keys name failing rows in errors
        rows_per_key, has_ids, label, raw_label, next_label, positives_at_step, negatives_at_step
    from labels
    join class_sizes using (step)
)

select * from final
