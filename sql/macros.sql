-- macros: the rules that several files in sql/ apply, each defined once. factory/duck.py runs
-- this file on every connection it makes. No $parameters here: a file binds its values where
-- it calls a macro, so that duck.parameters_of(file) names everything the file needs.

-- Rule 2 (consistency, GLoRe section 3.2): a correct continuation of P_i counts for step i only
-- if the step's result R_i shows up in it. One that reaches the answer while ignoring R_i says
-- nothing about step i; a step without a result has nothing to show.
create macro counts_for_step(is_correct, continuation_numbers, step_result) as
    is_correct and (step_result is null or list_contains(continuation_numbers, step_result));

-- The seeded draw: ordering by this hash picks rows at random but reproducibly, whatever the
-- file order. The seed is hashed inside the text: DuckDB's hash(a, b) mixes b in too weakly to
-- reorder rows. Callers then order by an id, to settle the (unlikely) hash ties.
create macro seeded_hash(key, seed) as hash(key || ':' || seed);

-- Positive and negative rows at each step number of a label table (rule 3 balances them).
create macro step_class_sizes(label_table) as table
    select
        step,
        count(*) filter (where label = 1) as n_positive,
        count(*) filter (where label = 0) as n_negative
    from query_table(label_table)
    group by step;

-- The rows of a step table (sql/checks/) with the rules across rows as columns for its suite:
-- one row per key, ids present, steps numbered 1..L, the next step's label. DuckDB computes
-- only the columns a check selects. The rows of a key are the peers of a row in its rollout's
-- step order, so all three windows share one sort (a window partitioned by the key would sort
-- again).
create macro step_rules(step_table) as table
    select
        *,
        count(*) over (steps range between current row and current row) as rows_per_key,
        rollout_id is not null and question_id is not null as has_ids,
        row_number() over steps as expected_step,
        lead(label) over steps as next_label
    from query_table(step_table)
    window steps as (partition by rollout_id order by step);

-- Rules inside the lists of a generation table (sql/checks/). Blank: whitespace only, as
-- Python's str.isspace() has it (RE2's \s alone leaves out \v and the Unicode spaces).
create macro is_blank(text) as
    text is null or regexp_matches(text, '^[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}]*$');

create macro blank_items(texts) as
    coalesce(len(list_filter(texts, lambda text: is_blank(text))), 0);

create macro not_binary_items(labels) as
    coalesce(len(list_filter(labels, lambda label: label is null or label not in (0, 1))), 0);

-- The checks of local and value refinement pairs (sql/checks/): each pair against its draft
-- and against the answers the inputs mark correct. `lowest_bad_step`: a local pair may mark
-- step 1, a value pair only a step after the one of highest value, and only a value pair's
-- target must leave the draft's path right at bad_step (refine_local leaves that column out).
create macro local_pair_rules(pair_table, rollouts_path, verifications_path, lowest_bad_step) as table
    with rollouts as (
        select rollout_id, question_id, steps, final_answer, is_correct
        from read_parquet(rollouts_path)
    ),

    correct_answers as (
        select question_id, final_answer
        from rollouts
        where is_correct
        union
        select rollouts.question_id, verifications.final_answer
        from read_parquet(verifications_path) as verifications
        join rollouts using (rollout_id)
        where verifications.is_correct
    ),

    checked as (
        select
            pairs.draft_rollout_id,  -- the keys name failing rows in errors
            pairs.bad_step,
            pairs.question_id is not null and pairs.draft is not null and pairs.target is not null as has_text,
            coalesce(not drafts.is_correct and drafts.steps = pairs.draft, false) as draft_is_incorrect_rollout,
            pairs.bad_step between lowest_bad_step and len(pairs.draft) as bad_step_in_draft,
            coalesce(
                pairs.target[1:pairs.bad_step - 1] = pairs.draft[1:pairs.bad_step - 1], false
            ) as keeps_steps_before_bad,
            pairs.target[pairs.bad_step] is distinct from pairs.draft[pairs.bad_step] as leaves_draft_at_bad_step,
            correct_answers.question_id is not null as ends_in_correct_answer
        from query_table(pair_table) as pairs
        left join rollouts as drafts on drafts.rollout_id = pairs.draft_rollout_id
        left join correct_answers
            on correct_answers.question_id = pairs.question_id
            and correct_answers.final_answer = pairs.target_answer
    )

    -- the window last, on narrow rows: one that carries the step lists along is many times slower
    select *, count(*) over (partition by draft_rollout_id, bad_step) as rows_per_key
    from checked;
