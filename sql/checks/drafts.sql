-- The columns the drafts suite reads beside the table's own: one label per step, each 0 or 1,
-- and never a rise along the draft (back-propagation makes its labels non-increasing).
with final as (
    select
        *,
        coalesce(len(draft), 0) as n_steps,
        coalesce(len(step_labels), 0) as n_step_labels,
        not_binary_items(step_labels) as labels_not_binary,
        -- a null label reads as 0 here: labels_not_binary already counts it
        coalesce(len(list_filter(
            range(1, len(step_labels)),
            lambda i: coalesce(step_labels[i], 0) < coalesce(step_labels[i + 1], 0)
        )), 0) as labels_increase
    from candidate
)

select * from final
