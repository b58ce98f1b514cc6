//! The diesel view of the tables created by `flyway/sql`. Keep in step with the migrations.

diesel::table! {
    users (id) {
        id -> Int8,
        username -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        guest -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    courses (id) {
        id -> Int8,
        title -> Text,
        description -> Text,
        owner_id -> Int8,
        created_at -> Timestamptz,
        published -> Bool,
    }
}

diesel::table! {
    course_invitations (course_id, user_id) {
        course_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    participants (course_id, user_id) {
        course_id -> Int8,
        user_id -> Int8,
        role -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    assignments (id) {
        id -> Int8,
        course_id -> Int8,
        position -> Int4,
        title -> Text,
        handout -> Text,
        runtime -> Text,
        starter_code -> Text,
        tests -> Jsonb,
        time_limit_ms -> Int4,
        memory_limit_mb -> Int4,
        output_limit_kb -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    submissions (id) {
        id -> Int8,
        assignment_id -> Int8,
        user_id -> Int8,
        runtime -> Text,
        code -> Text,
        status -> Text,
        verdict -> Nullable<Text>,
        test_results -> Jsonb,
        feedback -> Text,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        dispatched_at -> Nullable<Timestamptz>,
        stream_entry -> Nullable<Text>,
    }
}

diesel::table! {
    template_entries (course_id, path) {
        course_id -> Int8,
        path -> Text,
        directory -> Bool,
        content -> Text,
    }
}

diesel::table! {
    projects (id) {
        id -> Int8,
        course_id -> Int8,
        owner_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Int8,
        user_id -> Int8,
        access -> Text,
    }
}

diesel::table! {
    project_files (id) {
        id -> Int8,
        project_id -> Int8,
        path -> Text,
        directory -> Bool,
        content -> Bytea,
        document -> Nullable<Bytea>,
        synced_entry_ms -> Int8,
        synced_entry_seq -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    code_threads (id) {
        id -> Int8,
        project_id -> Int8,
        file_id -> Int8,
        author_id -> Int8,
        visibility -> Text,
        anchor_start -> Bytea,
        anchor_end -> Bytea,
        quote -> Text,
        quote_line -> Int4,
        resolved -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    thread_comments (id) {
        id -> Int8,
        thread_id -> Int8,
        author_id -> Int8,
        body -> Text,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    trials (id) {
        id -> Int8,
        course_id -> Int8,
        user_id -> Int8,
        tests -> Jsonb,
        status -> Text,
        outcome -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(courses -> users (owner_id));
diesel::joinable!(course_invitations -> courses (course_id));
diesel::joinable!(course_invitations -> users (user_id));
diesel::joinable!(participants -> courses (course_id));
diesel::joinable!(participants -> users (user_id));
diesel::joinable!(assignments -> courses (course_id));
diesel::joinable!(submissions -> assignments (assignment_id));
diesel::joinable!(submissions -> users (user_id));
diesel::joinable!(template_entries -> courses (course_id));
diesel::joinable!(projects -> courses (course_id));
diesel::joinable!(projects -> users (owner_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(project_files -> projects (project_id));
diesel::joinable!(code_threads -> projects (project_id));
diesel::joinable!(code_threads -> project_files (file_id));
diesel::joinable!(code_threads -> users (author_id));
diesel::joinable!(thread_comments -> code_threads (thread_id));
diesel::joinable!(thread_comments -> users (author_id));
diesel::joinable!(trials -> courses (course_id));
diesel::joinable!(trials -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    courses,
    course_invitations,
    participants,
    assignments,
    submissions,
    template_entries,
    projects,
    project_members,
    project_files,
    code_threads,
    thread_comments,
    trials
);
