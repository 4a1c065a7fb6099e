-- The columns the refine_global suite reads: each pair checked against the rollouts it names.
with pairs as (
    -- narrow rows first: windows that carry the step lists along are many times slower
    select
        draft_rollout_id,
        target_rollout_id,
        question_id,
        question_id is not null and draft is not null and target is not null as has_text,
        -- two texts of one draft colliding in a 64-bit hash is not a practical concern
        hash(target, target_answer) as target_text
    from candidate
),

rollouts as (
    select rollout_id, question_id, is_correct
    from read_parquet($rollouts)
),

final as (
    select
        pairs.draft_rollout_id,  -- the keys name failing rows in errors
        pairs.target_rollout_id,
        count(*) over (partition by pairs.draft_rollout_id, pairs.target_rollout_id) as rows_per_key,
        count(*) over (partition by pairs.draft_rollout_id, pairs.target_text) as pairs_per_target_text,
        pairs.has_text,
        -- a rollout id missing from the rollouts makes these false, not null
        coalesce(not drafts.is_correct, false) as draft_is_incorrect,
        coalesce(targets.is_correct, false) as target_is_correct,
        coalesce(
            drafts.question_id = pairs.question_id and targets.question_id = pairs.question_id, false
        ) as one_question
    from pairs
    left join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
    left join rollouts as targets on targets.rollout_id = pairs.target_rollout_id
)

select * from final
