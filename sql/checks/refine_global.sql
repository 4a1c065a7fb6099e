-- The columns the refine_global suite reads: each pair checked against the rollouts it names.
with pairs as (
    select * from candidate
),

rollouts as (
    select rollout_id, question_id, steps, is_correct
    from read_parquet($rollouts)
),

final as (
    select
        count(*) over (partition by pairs.draft_rollout_id, pairs.target_rollout_id) as rows_per_key,
        count(*) over (
            partition by pairs.draft_rollout_id, pairs.target, pairs.target_answer
        ) as pairs_per_target_text,
        pairs.question_id is not null and pairs.draft is not null and pairs.target is not null as has_text,
        -- a rollout id missing from the rollouts makes these false, not null
        coalesce(not drafts.is_correct, false) as draft_is_incorrect,
        coalesce(targets.is_correct, false) as target_is_correct,
        coalesce(
            drafts.question_id = pairs.question_id and targets.question_id = pairs.question_id, false
        ) as one_question,
        coalesce(drafts.steps = pairs.draft and targets.steps = pairs.target, false) as texts_match
    from pairs
    left join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
    left join rollouts as targets on targets.rollout_id = pairs.target_rollout_id
)

select * from final
