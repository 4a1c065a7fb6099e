-- The columns the imported_steps suite reads beside the table's own: a soft and a hard label
-- per step, no step blank, soft labels in [0, 1] and hard ones 0 or 1.
with final as (
    select
        *,
        coalesce(len(steps), 0) as n_steps,
        coalesce(len(soft_labels), 0) as n_soft_labels,
        coalesce(len(labels), 0) as n_labels,
        blank_items(steps) as blank_steps,
        -- null and NaN are outside too
        coalesce(len(list_filter(
            soft_labels, lambda label: not coalesce(label >= 0 and label <= 1, false)
        )), 0) as soft_labels_outside_0_1,
        not_binary_items(labels) as labels_not_binary
    from candidate
)

select * from final
