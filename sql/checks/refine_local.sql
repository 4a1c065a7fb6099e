-- The columns the refine_local suite reads: each pair checked against its draft and against
-- the answers the inputs mark correct (local_pair_rules, sql/macros.sql).
with final as (
    -- a local pair's target may go on as the draft did: only a value pair must leave its path
    select * exclude (leaves_draft_at_bad_step)
    from local_pair_rules('candidate', $rollouts, $verifications, 1)
)

select * from final
