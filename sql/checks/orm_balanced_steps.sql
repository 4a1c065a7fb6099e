-- The columns the orm_balanced_steps suite reads: the rules of a step table (step_rules,
-- sql/macros.sql), each step against its rollout, and the number of correct and incorrect
-- rollouts kept for its question.
with steps as (
    select * from step_rules('candidate')
),

rollouts as (
    select rollout_id, is_correct
    from read_parquet($rollouts)
),

kept_per_question as (
    -- a rollout counts once per label it has (one distinct pass, not one per count)
    select
        question_id,
        count(rollout_id) filter (where label = 1) as correct_rollouts,
        count(rollout_id) filter (where label = 0) as incorrect_rollouts
    from (select distinct question_id, rollout_id, label from candidate)
    group by question_id
),

final as (
    select
        steps.rollout_id, steps.step,  -- the keys name failing rows in errors
        steps.rows_per_key, steps.has_ids, steps.expected_step, steps.label,
        cast(rollouts.is_correct as tinyint) as rollout_label,
        kept_per_question.correct_rollouts,
        kept_per_question.incorrect_rollouts
    from steps
    left join rollouts using (rollout_id)
    left join kept_per_question using (question_id)
)

select * from final
