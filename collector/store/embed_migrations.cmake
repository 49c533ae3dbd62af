# SPDX-License-Identifier: MIT
# Writes OUT: a C array of {version name, SQL text} from the migration FILES, in order.
set(body "/* Generated from deploy/sql/ by embed_migrations.cmake: do not edit. */\n")
string(APPEND body "#include \"migrations.h\"\n\nconst struct col_migration col_migrations[] = {\n")
string(REPLACE "|" ";" FILES "${FILES}") # joined by "|" on the command line
foreach(f ${FILES})
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} sql)
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n     \"" sql "${sql}")
  string(APPEND body "    {\"${name}\",\n     \"${sql}\"},\n")
endforeach()
string(APPEND body "};\nconst int col_migrations_count =\n    (int)(sizeof(col_migrations) / sizeof(col_migrations[0]));\n")
file(WRITE ${OUT} "${body}")
