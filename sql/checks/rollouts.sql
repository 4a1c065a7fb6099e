-- The columns the rollouts suite reads beside the table's own: one result slot per step, and
-- no step blank or null. A null list has no items: its length counts as 0.
with final as (
    select
        *,
        coalesce(len(steps), 0) as n_steps,
        coalesce(len(step_results), 0) as n_step_results,
        blank_items(steps) as null_steps
    from candidate
)

select * from final
