/* SPDX-License-Identifier: MIT */
/* The SQL migrations from deploy/sql/, compiled in by embed_migrations.cmake, in order. */
#ifndef COL_MIGRATIONS_H
#define COL_MIGRATIONS_H

struct col_migration {
    const char *version; /* file name without .sql, e.g. "001_init" */
    const char *sql;
};

extern const struct col_migration col_migrations[];
extern const int col_migrations_count;

#endif
