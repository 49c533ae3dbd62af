/* SPDX-License-Identifier: MIT */
/* Shards and who may act for them: the agent hash is stable and spreads a fleet evenly, and the
 * fencing rule of the ownership table (owners.h) on explicit times, including the safety
 * argument of docs/architecture.md played out millisecond by millisecond: a collector whose
 * lock session is cut and the one that takes its shard never act at the same time. */
#include "owners.h"
#include "shard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#define LEASE 2000

static void test_hash_is_fnv1a_and_stable(void **state)
{
    (void)state;
    /* the published FNV-1a 32-bit test vectors: every collector must agree forever */
    assert_int_equal(col_shard_hash(""), 0x811c9dc5u);
    assert_int_equal(col_shard_hash("a"), 0xe40c292cu);
    assert_int_equal(col_shard_hash("foobar"), 0xbf9cf968u);
    assert_int_equal(col_shard_of("foobar", 64), (int)(0xbf9cf968u % 64));
    assert_int_equal(col_shard_of("anything", 1), 0);
    assert_int_equal(col_shard_of("anything", 0), 0);
}

static void test_hash_spreads_a_fleet(void **state)
{
    (void)state;
    int count[64] = {0};
    char id[32];
    for (int i = 0; i < 10000; i++) { /* agent ids as people name hosts */
        snprintf(id, sizeof(id), "vps-%d", i);
        count[col_shard_of(id, 64)]++;
    }
    for (int s = 0; s < 64; s++) /* 156 each on average */
        assert_in_range(count[s], 100, 220);
}

static void test_acts_only_adopted_after_a_lease_and_while_confirmed(void **state)
{
    (void)state;
    struct col_owners *o = col_owners_new(8, LEASE);
    assert_non_null(o);
    assert_false(col_owners_may_act(o, 3, 10000)); /* not held */
    col_owners_confirm(o, 10000);
    uint32_t ep = col_owners_acquire(o, 3, 10000);
    assert_false(col_owners_may_act(o, 3, 12500)); /* not adopted by the rules thread yet */
    assert_false(col_owners_is_mine(o, 3));
    col_owners_adopt(o, 3, ep - 1); /* a stale epoch adopts nothing */
    assert_false(col_owners_is_mine(o, 3));
    col_owners_adopt(o, 3, ep);
    assert_true(col_owners_is_mine(o, 3));
    col_owners_confirm(o, 11000);
    assert_false(col_owners_may_act(o, 3, 11999)); /* the previous owner may still act */
    assert_true(col_owners_may_act(o, 3, 12000));
    assert_true(col_owners_may_act(o, 3, 12999));
    assert_false(col_owners_may_act(o, 3, 13000)); /* confirmed one lease ago: fenced */
    col_owners_confirm(o, 12900);
    assert_true(col_owners_may_act(o, 3, 13000));
    assert_false(col_owners_may_act(o, 4, 13000)); /* another shard */
    assert_false(col_owners_may_act(o, COL_OWNERS_LEADER, 13000));
    col_owners_release(o, 3);
    assert_false(col_owners_may_act(o, 3, 13000));
    assert_false(col_owners_is_mine(o, 3));
    uint32_t again = col_owners_acquire(o, 3, 13000); /* taken again: adopted again first */
    assert_true(again != ep);
    assert_false(col_owners_is_mine(o, 3));
    assert_false(col_owners_may_act(o, 3, 15500));
    assert_false(col_owners_may_act(o, 99, 13000)); /* out of range: never */
    col_owners_count_fenced(o);
    col_owners_count_fenced(o);
    assert_int_equal(col_owners_fenced(o), 2);
    col_owners_free(o);
}

static void test_leader_is_a_slot_of_its_own(void **state)
{
    (void)state;
    struct col_owners *o = col_owners_new(4, LEASE);
    uint32_t ep = col_owners_acquire(o, COL_OWNERS_LEADER, 1000);
    col_owners_adopt(o, COL_OWNERS_LEADER, ep);
    col_owners_confirm(o, 2500);
    assert_true(col_owners_may_act(o, COL_OWNERS_LEADER, 3000));
    for (int s = 0; s < 4; s++)
        assert_false(col_owners_may_act(o, s, 3000));
    assert_int_equal(col_owners_since(o, COL_OWNERS_LEADER), 1000);
    col_owners_free(o);
}

/* A's lock session confirms every 500 ms until the server ends it at `cut` (its locks free at
 * once); A's later rounds fail. B, confirming every 500 ms, tries the lock each round and gets
 * it at its first round after the cut. The two never act for the shard in the same
 * millisecond, wherever the cut falls in A's round, and B acts within a round and a lease. */
static void test_cut_owner_and_new_owner_never_act_together(void **state)
{
    (void)state;
    for (int64_t cut = 5000; cut < 5500; cut += 37) {
        struct col_owners *a = col_owners_new(1, LEASE), *b = col_owners_new(1, LEASE);
        col_owners_adopt(a, 0, col_owners_acquire(a, 0, 1000));
        int64_t b_first = -1;
        bool b_has = false;
        for (int64_t t = 1000; t < 12000; t++) {
            if (t % 500 == 0 && t < cut) /* a round trip that the server answers */
                col_owners_confirm(a, t);
            if (t % 500 == 250) { /* B's round: confirm, then try the lock */
                col_owners_confirm(b, t);
                if (!b_has && t > cut) {
                    col_owners_adopt(b, 0, col_owners_acquire(b, 0, t));
                    b_has = true;
                }
            }
            bool a_acts = col_owners_may_act(a, 0, t), b_acts = col_owners_may_act(b, 0, t);
            assert_false(a_acts && b_acts);
            if (b_acts && b_first < 0)
                b_first = t;
        }
        assert_true(b_first > cut);
        assert_true(b_first <= cut + 500 + LEASE);
        col_owners_free(a);
        col_owners_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_fnv1a_and_stable),
        cmocka_unit_test(test_hash_spreads_a_fleet),
        cmocka_unit_test(test_acts_only_adopted_after_a_lease_and_while_confirmed),
        cmocka_unit_test(test_leader_is_a_slot_of_its_own),
        cmocka_unit_test(test_cut_owner_and_new_owner_never_act_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
