-- The columns the refine_global suite reads: each pair checked against the rollouts it names.
with pairs as (
    -- narrow rows first: the texts are only hashed, to tell targets apart
    select
        draft_rollout_id,
        target_rollout_id,
        question_id,
        question_id is not null and draft is not null and target is not null as has_text,
        -- two texts of one draft colliding in a 64-bit hash is not a practical concern
        hash(target, target_answer) as target_text
    from candidate
),

-- Rows per key and pairs per target text, counted by a group-by each and joined back: two
-- windows over as many partitions as rows cost several times more. A null key is one group,
-- as in a window.
per_key as (
    select draft_rollout_id, target_rollout_id, count(*) as rows_per_key
    from pairs
    group by all
),

per_target_text as (
    select draft_rollout_id, target_text, count(*) as pairs_per_target_text
    from pairs
    group by all
),

rollouts as (
    select rollout_id, question_id, is_correct
    from read_parquet($rollouts)
),

final as (
    select
        pairs.draft_rollout_id,  -- the keys name failing rows in errors
        pairs.target_rollout_id,
        per_key.rows_per_key,
        per_target_text.pairs_per_target_text,
        pairs.has_text,
        -- a rollout id missing from the rollouts makes these false, not null
        coalesce(not drafts.is_correct, false) as draft_is_incorrect,
        coalesce(targets.is_correct, false) as target_is_correct,
        coalesce(
            drafts.question_id = pairs.question_id and targets.question_id = pairs.question_id, false
        ) as one_question
    from pairs
    join per_key
        on per_key.draft_rollout_id is not distinct from pairs.draft_rollout_id
        and per_key.target_rollout_id is not distinct from pairs.target_rollout_id
    join per_target_text
        on per_target_text.draft_rollout_id is not distinct from pairs.draft_rollout_id
        and per_target_text.target_text is not distinct from pairs.target_text
    left join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
    left join rollouts as targets on targets.rollout_id = pairs.target_rollout_id
)

select * from final
