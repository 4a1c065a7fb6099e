-- orm_steps: the ORM's training signal. Every step of a rollout inherits the rollout's
-- final correctness, whether or not that step was itself right (the ORM's label noise
-- that the SORM is built to remove).
with rollouts as (
    select * from read_parquet($rollouts)
),

steps as (
    select
        rollout_id,
        question_id,
        is_correct,
        generate_subscripts(steps, 1) as step
    from rollouts
),

final as (
    select
        rollout_id,
        cast(step as integer) as step,
        question_id,
        cast(is_correct as tinyint) as label
    from steps
)

select * from final
order by rollout_id, step
