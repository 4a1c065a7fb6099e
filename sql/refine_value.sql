-- refine_value: value-based local refinement pairs (GLoRe appendix J). The [BAD] marker goes
-- after the step of highest value, the prefix from which most verifiers reached the answer,
-- and the target continues that prefix differently from the draft.
with rollouts as (
    select rollout_id, question_id, steps, final_answer, is_correct
    from read_parquet($rollouts)
),

step_values as (
    -- per prefix: its value (the continuations that count, rule 2, as in sorm_labels) and the
    -- first counting continuation that leaves the draft's path right after it (one that repeats
    -- the draft's next step would teach nothing new)
    select verdicts.rollout_id, verdicts.step, verdicts.n_consistent as value, verdicts.first_leaving as verifier_idx
    from read_parquet($step_verdicts) as verdicts
    join rollouts using (rollout_id)
    -- a value needs every verifier of every step: a backward search stops early, so its
    -- verifications measure no values and give no pairs
    where $exhaustive
        and not rollouts.is_correct
        -- P_L is the whole draft: there is no step after it to mark
        and verdicts.step < len(rollouts.steps)
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
