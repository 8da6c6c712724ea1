-- Facts about the database itself, e.g. "demo mode seeded it" (production refuses such a database).
CREATE TABLE database_marks (
    mark TEXT PRIMARY KEY NOT NULL,
    set_at BIGINT NOT NULL
);
