-- The columns the sorm_labels suite reads (factory/expectations/suites.py): one row per row of
-- the candidate table, with the rules across rows turned into columns.
with labels as (
    select * from candidate
),

final as (
    select
        rollout_id,  -- the keys name failing rows in errors
        count(*) over (partition by rollout_id, step) as rows_per_key,
        rollout_id is not null and question_id is not null as has_ids,
        step,
        row_number() over (partition by rollout_id order by step) as expected_step,
        label,
        raw_label,
        lead(label) over (partition by rollout_id order by step) as next_label,
        n_verifiers,
        n_correct,
        n_consistent
    from labels
)

select * from final
