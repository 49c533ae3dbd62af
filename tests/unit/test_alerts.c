/* SPDX-License-Identifier: MIT */
/* One alert per (bot, check): a verdict's findings open, escalate and keep alerts; checks it
 * judged passing resolve theirs; checks it could not judge keep theirs; restored ones are kept
 * by their id. Verdicts are built by hand here; test_rules checks the rules build them so. */
#include "alerts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define W0 1700000000000LL

/* What applying told, in order: "opened:check/severity ..." */
struct log {
    char text[512];
    int next_id;
};

static void new_id(void *ctx, char *buf, size_t size)
{
    struct log *l = ctx;
    snprintf(buf, size, "a%d", ++l->next_id);
}

static void emit(void *ctx, struct col_alert *a, enum col_alert_event ev)
{
    struct log *l = ctx;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof(l->text) - len, "%s%s:%s/%s", len ? " " : "",
             col_alert_event_name(ev), a->check, col_severity_name(a->severity));
}

/* A verdict whose chain stopped at chain (others judged unless down), with these findings. */
static struct col_verdict verdict(enum col_status st, enum col_chain chain, bool others)
{
    struct col_verdict v;
    memset(&v, 0, sizeof(v));
    v.status = st;
    v.chain = chain;
    v.others_judged = others;
    v.check = "";
    return v;
}

static void find(struct col_verdict *v, const char *check, enum col_severity sev)
{
    struct col_finding *f = &v->findings[v->nfindings++];
    f->check = check;
    f->severity = sev;
    snprintf(f->reason, sizeof(f->reason), "%s failing", check);
}

static const char *apply(struct col_alerts *s, const struct col_verdict *v, struct log *l)
{
    l->text[0] = '\0';
    assert_int_equal(col_alerts_apply(s, v, W0, new_id, emit, l), 0);
    return l->text;
}

static void test_each_check_its_own_alert(void **state)
{
    (void)state;
    struct col_alerts s = {0};
    struct log l = {0};
    struct col_verdict v = verdict(COL_ST_STALE, COL_CHAIN_TRADING, true);
    find(&v, "trading", COL_SEV_WARNING);
    find(&v, "resources", COL_SEV_WARNING);
    assert_string_equal(apply(&s, &v, &l), "opened:trading/warning opened:resources/warning");
    assert_int_equal(s.n, 2);
    assert_string_equal(col_alerts_find(&s, "trading")->id, "a1");
    assert_string_equal(col_alerts_find(&s, "resources")->id, "a2");
    /* the same verdict again: nothing new */
    assert_string_equal(apply(&s, &v, &l), "");
    /* the disk recovers, trading gets worse: one resolves, the other escalates, same id */
    v = verdict(COL_ST_STOPPED, COL_CHAIN_TRADING, true);
    find(&v, "trading", COL_SEV_CRITICAL);
    assert_string_equal(apply(&s, &v, &l), "resolved:resources/warning escalated:trading/critical");
    assert_int_equal(s.n, 1);
    assert_string_equal(col_alerts_find(&s, "trading")->id, "a1");
    assert_string_equal(col_alerts_find(&s, "trading")->reason, "trading failing");
    /* healthy: the last one resolves */
    v = verdict(COL_ST_HEALTHY, COL_CHAIN_PASSED, true);
    assert_string_equal(apply(&s, &v, &l), "resolved:trading/critical");
    assert_int_equal(s.n, 0);
    assert_null(col_alerts_worst(&s));
    col_alerts_free(&s);
}

static void test_unjudged_checks_keep_their_alerts(void **state)
{
    (void)state;
    struct col_alerts s = {0};
    struct log l = {0};
    struct col_verdict v = verdict(COL_ST_STALE, COL_CHAIN_TRADING, true);
    find(&v, "trading", COL_SEV_WARNING);
    find(&v, "metric:lag", COL_SEV_CRITICAL);
    apply(&s, &v, &l);
    /* the agent dies: liveness opens; trading and the metric cannot be judged: kept */
    v = verdict(COL_ST_DOWN, COL_CHAIN_LIVENESS, false);
    find(&v, "liveness", COL_SEV_CRITICAL);
    assert_string_equal(apply(&s, &v, &l), "opened:liveness/critical");
    assert_int_equal(s.n, 3);
    /* back, process dead: liveness passed, the metric judged and passing; trading still not */
    v = verdict(COL_ST_STOPPED, COL_CHAIN_PROCESS, true);
    find(&v, "process", COL_SEV_CRITICAL);
    assert_string_equal(apply(&s, &v, &l),
                        "resolved:liveness/critical resolved:metric:lag/critical "
                        "opened:process/critical");
    assert_non_null(col_alerts_find(&s, "trading"));
    /* unknown (no heartbeat yet) judges nothing: everything stays */
    v = verdict(COL_ST_UNKNOWN, COL_CHAIN_LIVENESS, false);
    assert_string_equal(apply(&s, &v, &l), "");
    assert_int_equal(s.n, 2);
    col_alerts_free(&s);
}

static void test_unconfirmed_finding_opens_nothing_and_keeps_open(void **state)
{
    (void)state;
    struct col_alerts s = {0};
    struct log l = {0};
    struct col_verdict v = verdict(COL_ST_DEGRADED, COL_CHAIN_PASSED, true);
    find(&v, "resources", COL_SEV_NONE); /* 1 of 3 samples */
    assert_string_equal(apply(&s, &v, &l), "");
    assert_int_equal(s.n, 0);
    v = verdict(COL_ST_DEGRADED, COL_CHAIN_PASSED, true);
    find(&v, "resources", COL_SEV_CRITICAL);
    assert_string_equal(apply(&s, &v, &l), "opened:resources/critical");
    /* a lower severity is not news: the alert keeps its severity, takes the reason */
    v = verdict(COL_ST_DEGRADED, COL_CHAIN_PASSED, true);
    find(&v, "resources", COL_SEV_WARNING);
    v.findings[0].reason[0] = 'R';
    assert_string_equal(apply(&s, &v, &l), "");
    assert_int_equal(col_alerts_find(&s, "resources")->severity, COL_SEV_CRITICAL);
    assert_int_equal(col_alerts_find(&s, "resources")->reason[0], 'R');
    v = verdict(COL_ST_DEGRADED, COL_CHAIN_PASSED, true);
    find(&v, "resources", COL_SEV_NONE); /* still failing: open until a success */
    assert_string_equal(apply(&s, &v, &l), "");
    assert_int_equal(s.n, 1);
    col_alerts_free(&s);
}

static void test_judged_all_resolves_everything_but_foreign_checks(void **state)
{
    (void)state;
    struct col_alerts s = {0};
    struct log l = {0};
    struct col_verdict v = verdict(COL_ST_DOWN, COL_CHAIN_LIVENESS, false);
    find(&v, "liveness", COL_SEV_CRITICAL);
    apply(&s, &v, &l);
    assert_int_equal(col_alerts_restore(&s, "old-1", "warning", "resources", W0 - 1000), 0);
    assert_non_null(col_alerts_open(&s, "flapping", COL_SEV_WARNING, "flaps", "f1", W0));
    /* intended stopped (or in maintenance): every check judged, nothing found */
    v = verdict(COL_ST_STOPPED, COL_CHAIN_LIVENESS, false);
    v.judged_all = true;
    assert_string_equal(apply(&s, &v, &l), "resolved:resources/warning resolved:liveness/critical");
    assert_int_equal(s.n, 1); /* flapping is the engine's, not the rules' */
    assert_string_equal(s.v[0].check, "flapping");
    col_alerts_free(&s);
}

static void test_restore_and_worst(void **state)
{
    (void)state;
    struct col_alerts s = {0};
    assert_int_equal(col_alerts_restore(&s, "old-w", "warning", "trading", W0 - 2000), 0);
    assert_int_equal(col_alerts_restore(&s, "old-c", "critical", "metric:lag", W0 - 1000), 0);
    assert_int_equal(col_alerts_restore(&s, "old-x", "critical", "trading", W0), -EEXIST);
    assert_int_equal(col_alerts_restore(&s, "old-d", "critical", "process", W0), 0);
    const struct col_alert *w = col_alerts_worst(&s);
    assert_string_equal(w->id, "old-c"); /* the most severe, the oldest of those */
    assert_true(w->announced);           /* the previous run told: its end will be told too */
    assert_string_equal(col_alerts_find(&s, "trading")->id, "old-w");
    assert_int_equal(col_alerts_find(&s, "trading")->severity, COL_SEV_WARNING);
    /* still failing after the restart: kept by its id, not re-opened */
    struct log l = {0};
    struct col_verdict v = verdict(COL_ST_STALE, COL_CHAIN_TRADING, true);
    find(&v, "trading", COL_SEV_WARNING);
    find(&v, "metric:lag", COL_SEV_CRITICAL);
    assert_string_equal(apply(&s, &v, &l), "resolved:process/critical");
    assert_string_equal(col_alerts_find(&s, "trading")->id, "old-w");
    col_alerts_remove(&s, col_alerts_find(&s, "trading"));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.v[0].id, "old-c");
    col_alerts_free(&s);
}

static void test_repeat_due(void **state)
{
    (void)state;
    struct col_alert a = {.last_sent_mono = 1000};
    int64_t next;
    assert_false(col_alert_repeat_due(&a, 60000, 60999, &next));
    assert_int_equal(next, 61000);
    assert_true(col_alert_repeat_due(&a, 60000, 61000, &next));
    assert_int_equal(next, 121000);
    assert_false(col_alert_repeat_due(&a, 0, 999999, &next)); /* off */
    assert_int_equal(next, INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_check_its_own_alert),
        cmocka_unit_test(test_unjudged_checks_keep_their_alerts),
        cmocka_unit_test(test_unconfirmed_finding_opens_nothing_and_keeps_open),
        cmocka_unit_test(test_judged_all_resolves_everything_but_foreign_checks),
        cmocka_unit_test(test_restore_and_worst),
        cmocka_unit_test(test_repeat_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
