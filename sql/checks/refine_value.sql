-- The columns the refine_value suite reads: the refine_local checks (local_pair_rules,
-- sql/macros.sql), plus the target leaving the draft's path right at bad_step.
with final as (
    -- bad_step is the step after the one of highest value: at least 2
    select * from local_pair_rules('candidate', $rollouts, $verifications, 2)
)

select * from final
