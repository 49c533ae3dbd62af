/* SPDX-License-Identifier: MIT */
/* INI config loading: inih splits lines into keys and values, our line reader tracks line
 * numbers and section headers, and the key tables of config.h validate and store each value. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#define MAX_KEYS 64 /* per key table */

/* State of one bp_config_load() call. Sections are followed by the reader (inih r55 tells the
 * handler neither the line number nor where a section starts, and cuts long section names). */
struct loader {
    const char *path;
    const struct bp_cfg_schema *schema;
    void *cfg;
    FILE *file;
    char *line; /* getline() buffer */
    size_t line_cap;
    int lineno;
    bool prev_was_key;             /* an indented line after a key would be a continuation */
    char section[256];             /* the section being read, "" before the first */
    const struct bp_cfg_key *keys; /* its key table, NULL before the first section */
    void *target;                  /* where its values go */
    int set_line[MAX_KEYS];        /* line that set each key of the section, 0 = not set */
    unsigned plain_seen;           /* bit i: schema->sections[i] appeared */
    char **items;                  /* names of repeated sections seen, for duplicates */
    size_t nitems;
    char *err;
    size_t errlen;
    int rc; /* first error, 0 while all is well */
};

/* Records the first error as "path[:line]: [section] [key]: message" and returns rc. */
__attribute__((format(printf, 5, 6))) static int report(struct loader *ld, int rc, int line,
                                                        const char *key, const char *fmt, ...)
{
    if (ld->rc)
        return ld->rc;
    ld->rc = rc;
    if (!ld->errlen)
        return rc;
    char where[sizeof(ld->section) + 256]; /* " [section] key: ", " [section]: ", " key: " or " " */
    snprintf(where, sizeof(where), "%s%s%s%s%s%s", ld->section[0] ? " [" : "", ld->section,
             ld->section[0] ? "]" : "", key ? " " : "", key ? key : "",
             ld->section[0] || key ? ": " : " ");
    size_t n;
    if (line > 0)
        n = (size_t)snprintf(ld->err, ld->errlen, "%s:%d:%s", ld->path, line, where);
    else
        n = (size_t)snprintf(ld->err, ld->errlen, "%s:%s", ld->path, where);
    if (n < ld->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err + n, ld->errlen - n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- values ------------------------------------------------------------------------------- */

/* Duration units, largest first; a bare number is seconds. */
static const struct {
    const char *name;
    int64_t ms;
} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

static int64_t unit_ms(const char *unit)
{
    if (*unit == '\0')
        return 1000;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(unit, units[i].name) == 0)
            return units[i].ms;
    return -1;
}

/* Decimal digits with an optional fraction of 1..9 digits; no sign. -EINVAL or -ERANGE. */
int bp_config_parse_ms(const char *text, int64_t *out)
{
    const char *p = text;
    int64_t whole = 0, frac = 0, scale = 1;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > (INT64_MAX - 9) / 10)
            return -ERANGE;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return -EINVAL;
        for (; isdigit((unsigned char)*p); p++, scale *= 10) {
            if (scale == 1000000000)
                return -EINVAL;
            frac = frac * 10 + (*p - '0');
        }
    }
    int64_t unit = unit_ms(p);
    if (unit < 0 || (frac * unit) % scale != 0) /* unknown unit, or a fraction of a ms */
        return -EINVAL;
    if (whole > INT64_MAX / unit - 1)
        return -ERANGE;
    *out = whole * unit + frac * unit / scale;
    return 0;
}

/* Writes a bound for an error message: a duration in its largest exact unit, or a number. */
static void format_bound(char *buf, size_t size, enum bp_cfg_type type, double v)
{
    if (type == BP_CFG_MS && v >= 1 && v < 9e18) {
        int64_t ms = (int64_t)v;
        size_t i = 0;
        while (ms % units[i].ms)
            i++;
        snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms, units[i].name);
    } else if (type == BP_CFG_DOUBLE) {
        snprintf(buf, size, "%g", v);
    } else {
        snprintf(buf, size, "%.0f", v);
    }
}

static int check_range(const struct bp_cfg_key *k, double v, char *why, size_t whylen)
{
    static const char *const what[] = {"", "an integer", "a number", "", "a duration"};
    if ((k->min == 0 && k->max == 0) || (v >= k->min && v <= k->max))
        return 0; /* min == max == 0: no range */
    char lo[32], hi[32];
    format_bound(lo, sizeof(lo), k->type, k->min);
    format_bound(hi, sizeof(hi), k->type, k->max);
    snprintf(why, whylen, "out of range: want %s in [%s, %s]", what[k->type], lo, hi);
    return -ERANGE;
}

static int parse_int(const char *value, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

static int parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
            *out = strcasecmp(value, yes[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_str(const struct bp_cfg_key *k, char *field, const char *value, char *why,
                   size_t whylen)
{
    size_t len = strlen(value);
    if (k->size == 0 || len >= k->size) {
        snprintf(why, whylen, "too long: at most %zu characters", k->size ? k->size - 1 : 0);
        return -ERANGE;
    }
    memcpy(field, value, len + 1);
    return 0;
}

/* ---- regular expressions -------------------------------------------------------------------- */

#define REGEX_COST_MAX 1000 /* elements after expanding repetitions; x{1,1000} costs ~10 MB */
#define REGEX_DEPTH_MAX 32  /* nested groups; deeper is too complex */
#define REGEX_LOOPS_MAX 8   /* unbounded repetitions of what may be empty, after expansion */

/* Skips a bracket expression at p ('['): returns the byte after its ']', or NULL. */
static const char *skip_bracket(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++; /* a leading ']' is a member */
    for (; *p && *p != ']'; p++) {
        if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
            const char *end = strchr(p + 2, p[1]);
            while (end && end[1] != ']')
                end = strchr(end + 1, p[1]);
            if (!end)
                return NULL;
            p = end + 1;
        }
    }
    return *p ? p + 1 : NULL;
}

/* Reads an interval "{m}", "{m,}" or "{m,n}" at p; returns the byte after it, the copies glibc
 * makes (n, or m + 1 for "{m,}"), m, and whether it has no upper bound, or NULL when it is none
 * (then '{' is an atom). */
static const char *interval(const char *p, double *copies, double *min, bool *unbounded)
{
    char *end;
    if (!isdigit((unsigned char)p[1]))
        return NULL;
    double m = strtod(p + 1, &end), n = m + 1;
    *unbounded = false;
    if (*end == ',') {
        if (isdigit((unsigned char)end[1])) {
            n = strtod(end + 1, &end);
        } else {
            end++;
            *unbounded = true;
        }
    } else {
        n = m;
    }
    if (*end != '}')
        return NULL;
    *copies = n > 1 ? n : 1;
    *min = m;
    return end + 1;
}

/* What a pattern costs glibc's regcomp, roughly. elements: how many it builds, repetitions
 * copying what they repeat (x+ is x x*, x{2,5} five x's), so nesting multiplies; its memory
 * and time grow with this (faster than linearly for {m,n}): 20 stacked '+' took 1.5 GB and
 * 20 s, and x{1,32767} more than 4 GB. loops: repetitions without an upper bound of a piece
 * that can match nothing (b**, (b?|c?)*), counted after expansion; with an anchor or a group
 * before them, the epsilon closures regcomp computes grow exponentially in these: 14 of
 * "(b*|c*)*" after '^' took 20 s, 80 stacked '*' after "^b" 6 s. Both saturate. A syntax error
 * is left to regcomp (which reports it only after compiling what comes before it, so that
 * counts). */
struct regex_cost {
    double elements, loops;
};

/* One piece of a pattern, or a run of them: its cost and whether it can match nothing. */
struct regex_piece {
    double elements, loops;
    bool empty;
};

static struct regex_cost regex_cost(const char *p)
{
    /* per open group: the alternatives so far (alts) and the current one (seq) */
    struct regex_piece seq[REGEX_DEPTH_MAX + 1], alts[REGEX_DEPTH_MAX + 1];
    struct regex_piece last = {0}; /* the piece a quantifier would repeat (elements 0: none) */
    bool before_last_empty = true; /* whether the run before last can match nothing */
    const struct regex_cost too_much = {1e9, 1e9};
    int depth = 0;
    seq[0] = (struct regex_piece){0, 0, true};
    alts[0] = (struct regex_piece){0, 0, false};
    while (*p) {
        /* x* is x plus a loop; x{2,5} is 5 x's */
        double copies = 0, extra = 1, min = 0;
        bool unbounded = false;
        struct regex_piece atom = {1, 0, false};
        const char *next = p + 1;
        if (*p == '\\' && p[1]) {
            next = p + 2;
            atom.empty = strchr("<>bB`'", p[1]) != NULL; /* the zero-width ones */
        } else if (*p == '[') {
            if (!(next = skip_bracket(p)))
                break; /* regcomp refuses it, but only after compiling what came before */
        } else if (*p == '^' || *p == '$') {
            atom.empty = true;
        } else if (*p == '(') {
            if (depth == REGEX_DEPTH_MAX)
                return too_much; /* deeper than we follow: too complex */
            depth++;
            seq[depth] = (struct regex_piece){0, 0, true};
            alts[depth] = (struct regex_piece){0, 0, false};
            last.elements = 0;
            p = next;
            continue;
        } else if (*p == ')' && depth > 0) {
            atom.elements = alts[depth].elements + seq[depth].elements;
            atom.loops = alts[depth].loops + seq[depth].loops;
            atom.empty = alts[depth].empty || seq[depth].empty;
            depth--;
        } else if (*p == '|') {
            alts[depth].elements += seq[depth].elements;
            alts[depth].loops += seq[depth].loops;
            alts[depth].empty = alts[depth].empty || seq[depth].empty;
            seq[depth] = (struct regex_piece){0, 0, true};
            last.elements = 0;
            p = next;
            continue;
        } else if (*p == '*' || *p == '?') {
            copies = 1;
            unbounded = *p == '*';
        } else if (*p == '+') {
            copies = 2;
            min = 1;
            unbounded = true;
        } else if (*p == '{') {
            extra = 0;
            if (!(next = interval(p, &copies, &min, &unbounded)))
                next = p + 1;
        }
        if (copies > 0 && last.elements > 0) { /* repeats the last piece: it becomes its copies */
            struct regex_piece grown = {
                .elements = last.elements * copies + extra,
                .loops = last.loops * copies + (unbounded && last.empty ? 1 : 0),
                .empty = last.empty || min == 0,
            };
            seq[depth].elements += grown.elements - last.elements;
            seq[depth].loops += grown.loops - last.loops;
            seq[depth].empty = before_last_empty && grown.empty;
            last = grown;
        } else {
            before_last_empty = seq[depth].empty;
            seq[depth].elements += atom.elements;
            seq[depth].loops += atom.loops;
            seq[depth].empty = seq[depth].empty && atom.empty;
            last = atom;
        }
        if (seq[depth].elements > 1e9 || seq[depth].loops > 1e9)
            return too_much;
        p = next;
    }
    while (depth > 0) { /* an unclosed group: regcomp refuses it */
        seq[depth - 1].elements += alts[depth].elements + seq[depth].elements;
        seq[depth - 1].loops += alts[depth].loops + seq[depth].loops;
        depth--;
    }
    return (struct regex_cost){alts[0].elements + seq[0].elements, alts[0].loops + seq[0].loops};
}

/* A string that must also compile with regcomp(REG_EXTENDED); "" means "not set". */
static int set_regex(const struct bp_cfg_key *k, char *field, const char *value, char *why,
                     size_t whylen)
{
    int rc = set_str(k, field, value, why, whylen);
    if (rc != 0 || value[0] == '\0')
        return rc;
    struct regex_cost cost = regex_cost(value);
    if (cost.elements > REGEX_COST_MAX) {
        snprintf(why, whylen,
                 "too complex: its repetitions expand to more than %d elements (x{1,%d} is "
                 "the most)",
                 REGEX_COST_MAX, REGEX_COST_MAX);
        field[0] = '\0';
        return -EINVAL;
    }
    if (cost.loops > REGEX_LOOPS_MAX) {
        snprintf(why, whylen,
                 "too complex: more than %d repetitions of something that may be empty "
                 "(like b** or (b?|c)*)",
                 REGEX_LOOPS_MAX);
        field[0] = '\0';
        return -EINVAL;
    }
    regex_t re;
    int rerr = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
    if (rerr != 0) {
        char msg[64];
        regerror(rerr, &re, msg, sizeof(msg));
        snprintf(why, whylen, "bad regular expression: %.60s", msg);
        field[0] = '\0';
        return -EINVAL;
    }
    regfree(&re);
    return 0;
}

static int set_int(const struct bp_cfg_key *k, char *field, const char *value, char *why,
                   size_t whylen)
{
    int64_t v;
    int rc = parse_int(value, &v);
    if (rc == 0 && k->size == sizeof(int) && (v < INT32_MIN || v > INT32_MAX))
        rc = -ERANGE;
    if (rc) {
        snprintf(why, whylen, "'%.40s' is not an integer%s", value,
                 rc == -ERANGE ? " in range" : "");
        return rc;
    }
    if ((rc = check_range(k, (double)v, why, whylen)))
        return rc;
    if (k->size == sizeof(int)) {
        int i = (int)v;
        memcpy(field, &i, sizeof(i));
    } else {
        memcpy(field, &v, sizeof(v));
    }
    return 0;
}

static int set_double(const struct bp_cfg_key *k, char *field, const char *value, char *why,
                      size_t whylen)
{
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v)) {
        snprintf(why, whylen, "'%.40s' is not a number", value);
        return -EINVAL;
    }
    int rc = check_range(k, v, why, whylen);
    if (rc == 0)
        memcpy(field, &v, sizeof(v));
    return rc;
}

static int set_ms(const struct bp_cfg_key *k, char *field, const char *value, char *why,
                  size_t whylen)
{
    int64_t v;
    int rc = bp_config_parse_ms(value, &v);
    if (rc) {
        snprintf(why, whylen, "'%.40s' is not a duration (250ms, 10s, 1.5m, 2h, 1d; bare = s)",
                 value);
        return rc;
    }
    if ((rc = check_range(k, (double)v, why, whylen)))
        return rc;
    memcpy(field, &v, sizeof(v));
    return 0;
}

/* True if the key's field size fits its type (a table mistake otherwise). */
static bool size_ok(const struct bp_cfg_key *k)
{
    switch (k->type) {
    case BP_CFG_STR:
    case BP_CFG_REGEX:
        return k->size > 0;
    case BP_CFG_INT:
        return k->size == sizeof(int64_t) || k->size == sizeof(int);
    case BP_CFG_DOUBLE:
        return k->size == sizeof(double);
    case BP_CFG_BOOL:
        return k->size == sizeof(bool);
    case BP_CFG_MS:
        return k->size == sizeof(int64_t);
    }
    return false;
}

/* Parses value for key k into target; on failure says why. 0, -EINVAL or -ERANGE. */
static int set_value(const struct bp_cfg_key *k, void *target, const char *value, char *why,
                     size_t whylen)
{
    char *field = (char *)target + k->offset;
    bool b;
    if (!size_ok(k)) {
        snprintf(why, whylen, "key table: size %zu does not fit the type", k->size);
        return -EINVAL;
    }
    switch (k->type) {
    case BP_CFG_STR:
        return set_str(k, field, value, why, whylen);
    case BP_CFG_REGEX:
        return set_regex(k, field, value, why, whylen);
    case BP_CFG_INT:
        return set_int(k, field, value, why, whylen);
    case BP_CFG_DOUBLE:
        return set_double(k, field, value, why, whylen);
    case BP_CFG_MS:
        return set_ms(k, field, value, why, whylen);
    case BP_CFG_BOOL:
        if (parse_bool(value, &b)) {
            snprintf(why, whylen, "'%.40s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                     value);
            return -EINVAL;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    snprintf(why, whylen, "key table: unknown type %d", (int)k->type);
    return -EINVAL;
}

int bp_config_defaults(const struct bp_cfg_key *keys, void *target, char *err, size_t errlen)
{
    char why[160];
    for (const struct bp_cfg_key *k = keys; k->name; k++) {
        if (!k->def)
            continue;
        int rc = set_value(k, target, k->def, why, sizeof(why));
        if (rc) {
            if (errlen)
                snprintf(err, errlen, "%s: bad default '%s': %.100s", k->name, k->def, why);
            return rc;
        }
    }
    return 0;
}

/* ---- sections ----------------------------------------------------------------------------- */

/* Makes keys/target the current section's; tables are limited to MAX_KEYS keys. */
static void use_keys(struct loader *ld, const struct bp_cfg_key *keys, void *target)
{
    int n = 0;
    while (keys[n].name)
        n++;
    if (n > MAX_KEYS) {
        report(ld, -EINVAL, 0, NULL, "key table: more than %d keys", MAX_KEYS);
        return;
    }
    memset(ld->set_line, 0, sizeof(ld->set_line));
    ld->keys = keys;
    ld->target = target;
}

/* Required keys (no default) of the section being read that the file did not set. */
static void finish_section(struct loader *ld)
{
    for (int i = 0; ld->keys && ld->keys[i].name; i++)
        if (!ld->keys[i].def && !ld->set_line[i])
            report(ld, -EINVAL, 0, ld->keys[i].name, "required");
    ld->keys = NULL;
}

/* Remembers a repeated section's full name: 0, -EEXIST if seen before, or -ENOMEM. */
static int remember_item(struct loader *ld, const char *name)
{
    for (size_t i = 0; i < ld->nitems; i++)
        if (strcmp(ld->items[i], name) == 0)
            return -EEXIST;
    char **grown = realloc(ld->items, (ld->nitems + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    ld->items = grown;
    if (!(ld->items[ld->nitems] = strdup(name)))
        return -ENOMEM;
    ld->nitems++;
    return 0;
}

/* Starts a repeated section "[prefix name]": add() the item and apply its defaults. */
static void begin_item(struct loader *ld, const struct bp_cfg_section *rs, const char *section,
                       const char *name)
{
    char why[160] = "";
    int rc = remember_item(ld, section);
    if (rc) {
        report(ld, rc == -EEXIST ? -EINVAL : rc, ld->lineno, NULL, "%s",
               rc == -EEXIST ? "duplicate section" : "out of memory");
        return;
    }
    void *item = rs->add(ld->cfg, name, why, sizeof(why));
    if (!item) {
        report(ld, -EINVAL, ld->lineno, NULL, "%s", why[0] ? why : "cannot add");
        return;
    }
    if (bp_config_defaults(rs->keys, item, why, sizeof(why))) {
        report(ld, -EINVAL, ld->lineno, NULL, "%s", why);
        return;
    }
    use_keys(ld, rs->keys, item);
}

/* Finds the schema entry for a section header and makes it the current section. */
static void begin_section(struct loader *ld, const char *name)
{
    const struct bp_cfg_schema *s = ld->schema;
    finish_section(ld);
    snprintf(ld->section, sizeof(ld->section), "%s", name);
    for (unsigned i = 0; !ld->rc && i < 12 && s->sections[i].name; i++) {
        if (strcmp(name, s->sections[i].name) != 0)
            continue;
        if (ld->plain_seen & (1u << i)) {
            report(ld, -EINVAL, ld->lineno, NULL, "duplicate section");
            return;
        }
        ld->plain_seen |= 1u << i;
        use_keys(ld, s->sections[i].keys, ld->cfg);
        return;
    }
    for (unsigned i = 0; !ld->rc && i < 4 && s->repeated[i].prefix; i++) {
        size_t n = strlen(s->repeated[i].prefix);
        if (strncmp(name, s->repeated[i].prefix, n) == 0 && name[n] == ' ' && name[n + 1]) {
            begin_item(ld, &s->repeated[i], name, name + n + 1);
            return;
        }
    }
    report(ld, -EINVAL, ld->lineno, NULL, "unknown section");
}

/* Required keys of plain sections that never appeared in the file. */
static void check_unseen_sections(struct loader *ld)
{
    for (unsigned i = 0; !ld->rc && i < 12 && ld->schema->sections[i].name; i++) {
        if (ld->plain_seen & (1u << i))
            continue;
        snprintf(ld->section, sizeof(ld->section), "%s", ld->schema->sections[i].name);
        use_keys(ld, ld->schema->sections[i].keys, ld->cfg);
        finish_section(ld);
    }
}

/* ---- reading ------------------------------------------------------------------------------ */

/* True if a key line has '=' or ':' before any inline comment (inih's rule). */
static bool has_separator(const char *s)
{
    bool was_space = false;
    for (; *s; s++) {
        if (*s == '=' || *s == ':')
            return true;
        if (was_space && *s == ';')
            return false;
        was_space = isspace((unsigned char)*s);
    }
    return false;
}

static void syntax_error(struct loader *ld, const char *what)
{
    ld->section[0] = '\0';
    report(ld, -EINVAL, ld->lineno, NULL, "syntax error: %s", what);
}

/* Looks at one line before inih does: section headers start sections here, and the lines
 * inih would reject or read as continuations stop the load with a precise error. */
static void classify_line(struct loader *ld, char *line)
{
    char *s = line;
    if (ld->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    char *start = s;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0' || *s == ';' || *s == '#')
        return;
    if (s > start && ld->prev_was_key) {
        syntax_error(ld, "indented line after a key (continuation lines are not supported)");
    } else if (*s == '[') {
        char *close = strchr(s, ']');
        ld->prev_was_key = false;
        if (!close) {
            syntax_error(ld, "no ']' in section header");
            return;
        }
        *close = '\0';
        begin_section(ld, s + 1);
        *close = ']';
    } else {
        ld->prev_was_key = true;
        if (!has_separator(s))
            syntax_error(ld, "want 'key = value'");
    }
}

/* inih's line reader: counts lines and classifies each; NULL at EOF or after an error. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *ld = stream;
    if (ld->rc)
        return NULL;
    ssize_t n = getline(&ld->line, &ld->line_cap, ld->file);
    if (n < 0)
        return NULL;
    ld->lineno++;
    if (n >= num) {
        ld->section[0] = '\0';
        report(ld, -EINVAL, ld->lineno, NULL, "line longer than %d characters", num - 2);
        return NULL;
    }
    classify_line(ld, ld->line);
    if (ld->rc)
        return NULL;
    memcpy(str, ld->line, (size_t)n + 1);
    return str;
}

/* Validates and stores one key of the current section: 0 or the error reported. */
static int store_key(struct loader *ld, const char *name, const char *value)
{
    char why[160];
    if (!ld->keys)
        return report(ld, -EINVAL, ld->lineno, name, "key outside any section");
    int i = 0;
    while (ld->keys[i].name && strcmp(ld->keys[i].name, name) != 0)
        i++;
    if (!ld->keys[i].name)
        return report(ld, -EINVAL, ld->lineno, name, "unknown key");
    if (ld->set_line[i])
        return report(ld, -EINVAL, ld->lineno, name, "set twice (first on line %d)",
                      ld->set_line[i]);
    int rc = set_value(&ld->keys[i], ld->target, value, why, sizeof(why));
    if (rc)
        return report(ld, rc, ld->lineno, name, "%s", why);
    ld->set_line[i] = ld->lineno;
    return 0;
}

/* inih's handler: nonzero on success. The section comes from our reader (inih cuts long
 * section names). */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    return store_key(user, name, value) == 0;
}

static int apply_plain_defaults(struct loader *ld)
{
    char why[160];
    for (unsigned i = 0; i < 12 && ld->schema->sections[i].name; i++) {
        if (bp_config_defaults(ld->schema->sections[i].keys, ld->cfg, why, sizeof(why))) {
            snprintf(ld->section, sizeof(ld->section), "%s", ld->schema->sections[i].name);
            return report(ld, -EINVAL, 0, NULL, "%s", why);
        }
    }
    return 0;
}

static void parse_file(struct loader *ld)
{
    int r = ini_parse_stream(read_line, ld, on_key, ld);
    if (r == -2)
        report(ld, -ENOMEM, 0, NULL, "out of memory");
    else if (r > 0)
        report(ld, -EINVAL, r, NULL, "syntax error");
    else if (ferror(ld->file))
        report(ld, -EIO, ld->lineno, NULL, "read error");
    finish_section(ld);
    check_unseen_sections(ld);
}

/* Beyond config.h: a plain section given twice, a key set twice and indented continuation
 * lines are errors; a line holds at most 198 characters (inih's buffer); min == max == 0 on a
 * number key means "no range"; a BP_CFG_INT field may also be an int. On failure cfg may be
 * partly filled: load into a fresh struct and swap it in only on success. */
int bp_config_load(const char *path, const struct bp_cfg_schema *schema, void *cfg, char *err,
                   size_t errlen)
{
    struct loader ld = {.path = path, .schema = schema, .cfg = cfg, .err = err, .errlen = errlen};
    if (errlen)
        err[0] = '\0';
    if (apply_plain_defaults(&ld))
        return ld.rc;
    ld.file = fopen(path, "r");
    if (!ld.file) {
        int e = errno;
        if (errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    parse_file(&ld);
    fclose(ld.file);
    free(ld.line);
    for (size_t i = 0; i < ld.nitems; i++)
        free(ld.items[i]);
    free(ld.items);
    return ld.rc;
}
