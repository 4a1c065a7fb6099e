-- sorm_labels: the stepwise ORM's labels, one row per step of every rollout. Step i is
-- positive when the prefix P_i = steps 1..i can still reach the correct answer: some verifier
-- continuing from P_i gets there (GLoRe section 3.2), under the paper's two rules below.
with rollouts as (
    select rollout_id, question_id, steps, is_correct
    from read_parquet($rollouts)
),

steps as (
    select
        rollout_id,
        question_id,
        is_correct,
        len(steps) as n_steps,
        cast(generate_subscripts(steps, 1) as integer) as step
    from rollouts
),

verdicts as (
    -- the verifiers of each prefix, counted once for the label SQL (sql/step_verdicts.sql):
    -- n_consistent counts the correct continuations that use the step's result (rule 2)
    select rollout_id, step, n_verifiers, n_correct, n_consistent
    from read_parquet($step_verdicts)
),

raw as (
    select
        steps.rollout_id,
        steps.step,
        steps.question_id,
        coalesce(verdicts.n_verifiers, 0) as n_verifiers,
        coalesce(verdicts.n_correct, 0) as n_correct,
        coalesce(verdicts.n_consistent, 0) as n_consistent,
        case
            -- P_L is the whole solution: the last step is judged by the rollout's own answer
            when steps.step = steps.n_steps then cast(steps.is_correct as tinyint)
            -- no verifier ran from this prefix: unknown, not negative
            when verdicts.n_verifiers is null then null
            else cast(verdicts.n_consistent > 0 as tinyint)
        end as raw_label
    from steps
    left join verdicts using (rollout_id, step)
),

reach as (
    -- per rollout, a group-by rather than a window over the steps: far faster on millions of rows
    select
        rollout_id,
        max(step) filter (where raw_label = 1) as last_positive,
        max(step) filter (where raw_label is null) as last_unknown
    from raw
    group by rollout_id
),

labelled as (
    select
        raw.*,
        case
            -- Rule 1 (back-propagation): if P_j can reach the answer, so can its prefix P_i (i <= j)
            when raw.step <= reach.last_positive then 1
            -- an unverified step at or after i might have been positive: label(i) is undecided
            when raw.step <= reach.last_unknown then null
            else 0
        end as label
    from raw
    join reach using (rollout_id)
),

incomplete as (
    select rollout_id, any_value(question_id) as question_id
    from labelled
    where label is null
    group by rollout_id
),

guard as (
    -- Undecided labels are an incomplete verification: with $incomplete = 'fail' the query
    -- stops naming the rollouts; with 'drop' their questions leave the table whole (the stage
    -- counts the rollouts): keeping the correct rollouts of a question without its incorrect ones
    -- would teach the SORM which questions are easy instead of which steps are right.
    select
        case
            when $incomplete = 'fail' and count(*) > 0 then error(
                'incomplete verification: ' || count(*) || ' rollout(s) have steps with no '
                || 'verifier and no later positive step, e.g. '
                || array_to_string(list_sort(list(rollout_id))[1:5], ', ')
            )
            else true
        end as passes
    from incomplete
),

final as (
    select
        labelled.rollout_id,
        labelled.step,
        labelled.question_id,
        cast(labelled.label as tinyint) as label,
        labelled.raw_label,
        cast(labelled.n_verifiers as integer) as n_verifiers,
        cast(labelled.n_correct as integer) as n_correct,
        cast(labelled.n_consistent as integer) as n_consistent
    from labelled
    cross join guard
    where guard.passes
        and labelled.question_id not in (select question_id from incomplete)
)

select * from final
order by rollout_id, step
