-- The columns the refine_value suite reads: the refine_local checks, plus the target leaving
-- the draft's path right at bad_step.
with pairs as (
    select * from candidate
),

rollouts as (
    select rollout_id, question_id, steps, final_answer, is_correct
    from read_parquet($rollouts)
),

correct_answers as (
    select question_id, final_answer
    from rollouts
    where is_correct
    union
    select rollouts.question_id, verifications.final_answer
    from read_parquet($verifications) as verifications
    join rollouts using (rollout_id)
    where verifications.is_correct
),

final as (
    select
        pairs.draft_rollout_id,  -- the keys name failing rows in errors
        pairs.bad_step,
        count(*) over (partition by pairs.draft_rollout_id, pairs.bad_step) as rows_per_key,
        pairs.question_id is not null and pairs.draft is not null and pairs.target is not null as has_text,
        coalesce(not drafts.is_correct and drafts.steps = pairs.draft, false) as draft_is_incorrect_rollout,
        pairs.bad_step between 2 and len(pairs.draft) as bad_step_in_draft,
        coalesce(
            pairs.target[1:pairs.bad_step - 1] = pairs.draft[1:pairs.bad_step - 1], false
        ) as keeps_steps_before_bad,
        pairs.target[pairs.bad_step] is distinct from pairs.draft[pairs.bad_step] as leaves_draft_at_bad_step,
        correct_answers.question_id is not null as ends_in_correct_answer
    from pairs
    left join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
    left join correct_answers
        on correct_answers.question_id = pairs.question_id
        and correct_answers.final_answer = pairs.target_answer
)

select * from final
