-- step_verdicts: what the verifiers of each prefix P_i found, one row per verified (rollout,
-- step), counted in one pass over the verifications for the files that read it (sorm_labels,
-- refine_local, refine_value). The label stage makes it first and never writes it out.
with rollouts as (
    select rollout_id, steps, step_results
    from read_parquet($rollouts)
),

counted as (
    select
        verifications.rollout_id,
        verifications.step,
        verifications.verifier_idx,
        verifications.is_correct,
        -- Rule 2 (consistency, in sql/macros.sql): a correct continuation counts only if the
        -- step's result R_i shows up in it.
        counts_for_step(
            verifications.is_correct, verifications.continuation_numbers, rollouts.step_results[verifications.step]
        ) as counts,
        -- a continuation that repeats the draft's next step would teach a value pair nothing new
        verifications.continuation[1] is distinct from rollouts.steps[verifications.step + 1] as leaves_draft
    from read_parquet($verifications) as verifications
    join rollouts using (rollout_id)
),

final as (
    select
        rollout_id,
        step,
        count(*) as n_verifiers,
        count(*) filter (where is_correct) as n_correct,
        count(*) filter (where counts) as n_consistent,
        -- the lowest verifier_idx: the continuation a backward search stopped at
        min(verifier_idx) filter (where counts) as first_consistent,
        min(verifier_idx) filter (where counts and leaves_draft) as first_leaving
    from counted
    group by rollout_id, step
)

select * from final
