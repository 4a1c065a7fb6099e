-- orm_balanced_steps: the balanced ORM's training table. Per question, keep as many correct as
-- incorrect rollouts, so that how hard a question is cannot be learned in place of whether a
-- solution is right; every step of a kept rollout carries the rollout's correctness.
with rollouts as (
    select rollout_id, question_id, steps, is_correct
    from read_parquet($rollouts)
    -- a rollout without steps has no rows to label: it would count for its side but show nowhere
    where len(steps) > 0
),

class_sizes as (
    select
        question_id,
        count(*) filter (where is_correct) as n_correct,
        count(*) filter (where not is_correct) as n_incorrect
    from rollouts
    group by question_id
),

drawn as (
    select
        *,
        -- the seeded draw: which rollouts of the larger side stay
        row_number() over (
            partition by question_id, is_correct order by seeded_hash(rollout_id, $seed), rollout_id
        ) as draw
    from rollouts
),

kept as (
    select drawn.*
    from drawn
    join class_sizes using (question_id)
    where draw <= least(n_correct, n_incorrect)
),

final as (
    select
        rollout_id,
        cast(generate_subscripts(steps, 1) as integer) as step,
        question_id,
        cast(is_correct as tinyint) as label
    from kept
)

select * from final
order by rollout_id, step
