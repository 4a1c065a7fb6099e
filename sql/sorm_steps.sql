-- sorm_steps: the SORM's training table. Rule 3 (balancing): at every prefix length keep as
-- many positive as negative steps, since early steps are mostly positive and late ones mostly
-- negative, and a classifier would otherwise learn the step number instead of the step.
with labels as (
    select * from read_parquet($sorm_labels)
),

class_sizes as (
    select * from step_class_sizes('labels')
),

drawn as (
    select
        *,
        -- the seeded draw: which steps of the larger class stay
        row_number() over (
            partition by step, label order by seeded_hash(rollout_id, $seed), rollout_id
        ) as draw
    from labels
),

final as (
    select rollout_id, step, question_id, label, raw_label, n_verifiers, n_correct, n_consistent
    from drawn
    join class_sizes using (step)
    -- the rarer class at this step is kept whole, the other cut to its size
    where draw <= least(n_positive, n_negative)
)

select * from final
order by rollout_id, step
