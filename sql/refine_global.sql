-- refine_global: global refinement pairs (GLoRe section 4.1). The refiner sees an incorrect
-- draft and learns to rewrite it from scratch as a correct solution of the same question.
with rollouts as (
    select rollout_id, question_id, steps, final_answer, is_correct
    from read_parquet($rollouts)
),

targets as (
    -- distinct target texts: correct rollouts that read alike stand for one target, named by
    -- the first of their rollout ids, so no draft is paired twice with the same text
    select question_id, min(rollout_id) as rollout_id
    from rollouts
    where is_correct
    group by question_id, steps, final_answer
),

pairs as (
    -- ids only: the texts join in after the choice, so the choice does not move them around
    select
        drafts.rollout_id as draft_rollout_id,
        targets.rollout_id as target_rollout_id,
        drafts.question_id,
        -- a seeded hash of the pair (as in sorm_steps) picks each draft's targets at random but reproducibly
        row_number() over (
            partition by drafts.rollout_id
            order by hash(drafts.rollout_id || ':' || targets.rollout_id || ':' || $seed), targets.rollout_id
        ) as draw
    from rollouts as drafts
    join targets using (question_id)
    where not drafts.is_correct
),

final as (
    select
        pairs.draft_rollout_id,
        pairs.target_rollout_id,
        pairs.question_id,
        drafts.steps as draft,
        drafts.final_answer as draft_answer,
        targets.steps as target,
        targets.final_answer as target_answer
    from pairs
    join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
    join rollouts as targets on targets.rollout_id = pairs.target_rollout_id
    where pairs.draw <= $max_targets_per_draft
)

select * from final
order by draft_rollout_id, target_rollout_id
