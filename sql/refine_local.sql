-- refine_local: local refinement pairs (GLoRe section 4.1). The draft is an incorrect rollout
-- with a [BAD] marker before its first wrong step (added when prompts are formatted); the
-- target keeps the steps before it and finishes them correctly.
with rollouts as (
    select rollout_id, question_id, is_correct
    from read_parquet($rollouts)
),

first_errors as (
    -- labels never rise along a rollout, so the first negative step is where the draft goes
    -- wrong: from P_{bad_step - 1} the answer is still reachable, from P_{bad_step} it is not
    select rollout_id, min(step) as bad_step
    from read_parquet($sorm_labels)
    where label = 0
    group by rollout_id
),

drafts as (
    select
        rollouts.rollout_id,
        rollouts.question_id,
        first_errors.bad_step
    from rollouts
    join first_errors using (rollout_id)
    where not rollouts.is_correct
),

continued as (
    -- bad_step > 1: the first verifier's continuation of P_{bad_step - 1} that counts for the
    -- last kept step (rule 2; sql/step_verdicts.sql)
    select drafts.rollout_id, drafts.bad_step, verdicts.first_consistent as verifier_idx
    from drafts
    join read_parquet($step_verdicts) as verdicts
        on verdicts.rollout_id = drafts.rollout_id
        and verdicts.step = drafts.bad_step - 1
    where drafts.bad_step > 1 and verdicts.first_consistent is not null
),

restarted as (
    -- bad_step = 1: no step is worth keeping, so the target is a correct rollout of the same
    -- question, picked by the seeded draw; a question without one gives no pair
    select drafts.rollout_id, drafts.bad_step, targets.rollout_id as target_rollout_id
    from drafts
    join rollouts as targets
        on targets.question_id = drafts.question_id
        and targets.is_correct
    where drafts.bad_step = 1
    qualify row_number() over (
        partition by drafts.rollout_id
        order by seeded_hash(drafts.rollout_id || ':' || targets.rollout_id, $seed), targets.rollout_id
    ) = 1
),

-- The texts join in only now, so that the choices above move ids, not millions of step lists.
texts as (
    select rollout_id, question_id, steps, final_answer
    from read_parquet($rollouts)
),

final as (
    select
        drafts.rollout_id as draft_rollout_id,
        continued.bad_step,
        drafts.question_id,
        drafts.steps as draft,
        drafts.final_answer as draft_answer,
        list_concat(drafts.steps[1:continued.bad_step - 1], verifications.continuation) as target,
        verifications.final_answer as target_answer,
        cast(null as varchar) as target_rollout_id,
        continued.verifier_idx
    from continued
    join texts as drafts using (rollout_id)
    join read_parquet($verifications) as verifications
        on verifications.rollout_id = continued.rollout_id
        and verifications.step = continued.bad_step - 1
        and verifications.verifier_idx = continued.verifier_idx
    union all
    select
        drafts.rollout_id as draft_rollout_id,
        restarted.bad_step,
        drafts.question_id,
        drafts.steps as draft,
        drafts.final_answer as draft_answer,
        targets.steps as target,
        targets.final_answer as target_answer,
        restarted.target_rollout_id,
        cast(null as integer) as verifier_idx
    from restarted
    join texts as drafts using (rollout_id)
    join texts as targets on targets.rollout_id = restarted.target_rollout_id
)

select * from final
order by draft_rollout_id, bad_step
