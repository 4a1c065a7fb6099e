-- refine_value: value-based local refinement pairs (GLoRe appendix J). The [BAD] marker goes
-- after the step of highest value, the prefix from which most verifiers reached the answer,
-- and the target continues that prefix differently from the draft.
with rollouts as (
    select rollout_id, question_id, steps, step_results, final_answer, is_correct
    from read_parquet($rollouts)
),

verifications as (
    -- no continuation texts yet: the chosen one joins in at the end, so millions are not carried along
    select rollout_id, step, verifier_idx, continuation[1] as first_step, continuation_numbers, is_correct
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
        verifications.first_step,
        rollouts.steps[verifications.step + 1] as next_draft_step,
        counts_for_step(
            verifications.is_correct, verifications.continuation_numbers, rollouts.step_results[verifications.step]
        ) as counts
    from rollouts
    join verifications using (rollout_id)
    where not rollouts.is_correct
        -- P_L is the whole draft: there is no step after it to mark
        and verifications.step < len(rollouts.steps)
),

step_values as (
    -- per prefix: its value (counting continuations) and the first counting continuation that
    -- leaves the draft's path right after it (one that repeats the draft's next step would
    -- teach nothing new)
    select
        rollout_id,
        step,
        count(*) filter (where counts) as value,
        min(verifier_idx) filter (where counts and first_step is distinct from next_draft_step) as verifier_idx
    from counted
    group by rollout_id, step
),

chosen as (
    -- the step i* of highest value; ties go to the later step, which keeps more of the draft.
    -- A draft from which nothing reached the answer, or whose i* has no continuation leaving
    -- its path, has no value pair.
    select rollout_id, step, verifier_idx
    from step_values
    where value > 0
    qualify row_number() over (partition by rollout_id order by value desc, step desc) = 1
        and verifier_idx is not null
),

final as (
    select
        rollouts.rollout_id as draft_rollout_id,
        cast(chosen.step + 1 as integer) as bad_step,
        rollouts.question_id,
        rollouts.steps as draft,
        rollouts.final_answer as draft_answer,
        list_concat(rollouts.steps[1:chosen.step], texts.continuation) as target,
        texts.final_answer as target_answer,
        chosen.verifier_idx
    from chosen
    join rollouts using (rollout_id)
    join read_parquet($verifications) as texts using (rollout_id, step, verifier_idx)
)

select * from final
order by draft_rollout_id, bad_step
