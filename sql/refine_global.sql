-- refine_global: global refinement pairs (GLoRe section 4.1). The refiner sees an incorrect
-- draft and learns to rewrite it from scratch as a correct solution of the same question.
with drafts as (
    select rollout_id, question_id
    from read_parquet($rollouts)
    where not is_correct
),

targets as (
    -- distinct target texts: correct rollouts that read alike stand for one target, named by
    -- the first of their rollout ids, so no draft is paired twice with the same text
    select question_id, min(rollout_id) as rollout_id
    from read_parquet($rollouts)
    where is_correct
    group by question_id, steps, final_answer
),

pairs as (
    select
        drafts.rollout_id as draft_rollout_id,
        targets.rollout_id as target_rollout_id,
        drafts.question_id,
        -- the seeded draw of the pair picks each draft's targets
        row_number() over (
            partition by drafts.rollout_id
            order by seeded_hash(drafts.rollout_id || ':' || targets.rollout_id, $seed), targets.rollout_id
        ) as draw
    from drafts
    join targets using (question_id)
),

final as (
    -- the texts join in only now, so that millions of candidate pairs are drawn on ids alone
    select
        pairs.draft_rollout_id,
        pairs.target_rollout_id,
        pairs.question_id,
        draft_texts.steps as draft,
        draft_texts.final_answer as draft_answer,
        target_texts.steps as target,
        target_texts.final_answer as target_answer
    from pairs
    join read_parquet($rollouts) as draft_texts on draft_texts.rollout_id = pairs.draft_rollout_id
    join read_parquet($rollouts) as target_texts on target_texts.rollout_id = pairs.target_rollout_id
    where pairs.draw <= $max_targets_per_draft
)

select * from final
order by draft_rollout_id, target_rollout_id
