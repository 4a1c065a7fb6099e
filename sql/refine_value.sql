-- refine_value: value-based local refinement pairs (GLoRe appendix J). The [BAD] marker goes
-- after the step of highest value, the prefix from which most verifiers reached the answer,
-- and the target continues that prefix differently from the draft.
with rollouts as (
    select rollout_id, question_id, steps, step_results, final_answer, is_correct
    from read_parquet($rollouts)
),

verifications as (
    select rollout_id, step, verifier_idx, continuation, continuation_numbers, final_answer, is_correct
    from read_parquet($verifications)
    -- a value needs every verifier of every step: a backward search stops early, so its
    -- verifications measure no values and give no pairs
    where $exhaustive
),

counted as (
    -- as in sorm_labels: only correct continuations that use the step's result count (rule 2)
    select
        rollouts.rollout_id,
        verifications.step,
        verifications.verifier_idx,
        verifications.continuation,
        verifications.final_answer,
        verifications.is_correct
            and (rollouts.step_results[verifications.step] is null
                or list_contains(verifications.continuation_numbers, rollouts.step_results[verifications.step]))
            as counts
    from rollouts
    join verifications using (rollout_id)
    where not rollouts.is_correct
        -- P_L is the whole draft: there is no step after it to mark
        and verifications.step < len(rollouts.steps)
),

best_steps as (
    -- the step i* with the most counting continuations; ties go to the later step, which keeps
    -- more of the draft; a draft from which nothing reached the answer has no value pair
    select rollout_id, step as best_step
    from counted
    group by rollout_id, step
    having count(*) filter (where counts) > 0
    qualify row_number() over (
        partition by rollout_id order by count(*) filter (where counts) desc, step desc
    ) = 1
),

pairs as (
    select
        rollouts.rollout_id as draft_rollout_id,
        cast(best_steps.best_step + 1 as integer) as bad_step,
        rollouts.question_id,
        rollouts.steps as draft,
        rollouts.final_answer as draft_answer,
        list_concat(rollouts.steps[1:best_steps.best_step], counted.continuation) as target,
        counted.final_answer as target_answer,
        counted.verifier_idx,
        row_number() over (partition by rollouts.rollout_id order by counted.verifier_idx) as draw
    from best_steps
    join rollouts using (rollout_id)
    join counted
        on counted.rollout_id = best_steps.rollout_id
        and counted.step = best_steps.best_step
    where counted.counts
        -- the target must leave the draft's path right after i*, or it would teach nothing new
        and counted.continuation[1] is distinct from rollouts.steps[best_steps.best_step + 1]
),

final as (
    select * exclude (draw)
    from pairs
    where draw = 1
)

select * from final
order by draft_rollout_id, bad_step
