/* Native kernel for segcheck's interval decision diagrams (see segcheck/engine/native.py for
 * what each call computes and why; the pure-Python passes in mdd.py/passes.py/filters.py are
 * the reference and every call here is tested against them).
 *
 * A Store is a private node store with mdd.Store's node semantics: a node is (level, breaks,
 * kids), reduced (adjacent kids differ, >= 2 kids) and hash-consed (one id per triple) in an
 * open-addressing unique table; terminals are negative (FALSE -1, TRUE -2, UNDECIDED -3,
 * rule leaf -4 - i).  Because both stores hold canonical diagrams, a result exported into the
 * Python store is the very node the pure-Python passes build.
 *
 * Layout: per node one run of pool words at off[id]: a header (its 32-bit hash, a word with
 * the level and two cached flags, the kid count nk), its nk kids, its nk - 1 breaks; flags:
 * und (reaches UNDECIDED or a (f, 0) terminal, computed on demand) and verd (verdict bits it
 * can reach under the store's terminal -> verdict map).  Reading a node touches off[] and one
 * contiguous run (one or two cache lines), not five parallel arrays.  A node is always
 * created after its kids, so kids have smaller ids: compaction marks downwards and slides
 * upwards in place (ids renumbered in order; callers get their roots back).  Memo and
 * "seen" tables are one open-addressing table stamped with a generation (bumped per
 * operation: no clearing); past MEMO_MAX entries it is a lossy cache (results stay exact).
 * Recursions descend strictly in level (children lie below their node), so each level owns
 * one scratch buffer of 2**width entries and the depth is bounded by the number of levels.
 *
 * Complexity: pointwise operations and the composition are memoised over operand pairs
 * (O(product of sizes) worst case, in practice about the result's size); a node costs 12
 * bytes plus 8 per kid, and 8-24 bytes of unique table.  Everything read from Python is checked (levels in range, breaks
 * increasing and within the level's digit range, kids below their parent, no cycles, node
 * ids within the store, ranges sorted and disjoint, values non-negative and saturated at
 * 2**128); errors raise ValueError/TypeError/MemoryError, never crash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define T_FALSE (-1)
#define T_TRUE (-2)
#define T_UND (-3)
#define ERRV INT32_MIN
#define LEAFLVL (1 << 30)
#define NFIELDS 8
/* Two-level classification terminals (see compose_rec): first rule f, second verdict v
   (0 none yet, 1 permit, 2 deny). Only diagrams built by classify() use them. */
#define ENC(f, v) ((int32_t)(-4 - (3 * (int64_t)(f) + (v))))
#define ENC_V(t) ((int)((-4 - (int64_t)(t)) % 3))
#define ENC_F(t) ((int32_t)((-4 - (int64_t)(t)) / 3))

/* classify() composes up to ARITY consecutive blocks per pass (a balanced ARITY-ary tree);
   memo keys are ARITY ints (passes with fewer operands pad with NOKEY). */
#define ARITY 8

typedef struct {
    int32_t k[ARITY], r;
    uint32_t gen;
} MEnt;

typedef struct {
    MEnt *t;
    uint64_t cap, used;
    uint32_t gen;
} Memo;

typedef struct { int32_t id; uint32_t h; } Slot;

typedef struct {
    int64_t n, cap;
    uint32_t *off;           /* per node: where it starts in the pool (< 2**32) */
    int32_t *pool;           /* per node: HDR header words, then its kids, then its breaks */
    int64_t pn, pcap;
    Slot *ht;                /* unique table: (node id, its hash) slots, id -1 empty: one
                                cache line per probe, no node dereference on a mismatch */
    uint64_t hcap;
} Nodes;

typedef struct {
    PyObject_HEAD
    int32_t depth;
    int32_t *maxd;           /* per level: largest digit value (over both families) */
    int32_t *fld;            /* per level: field index (mdd.FIELDS order) */
    int32_t *wid[2], *sft[2];/* per family: digit width (0: unused) and shift per level */
    int32_t **sb, **sk, **sp; /* per level scratch: breaks, kids, second operands */
    int32_t **sq;            /* per level scratch: composek's operand tuples */
    Nodes nd;
    Memo memo;
    uint8_t *vbits;          /* verdict bit of rule i (1 permit, 2 deny) */
    Py_ssize_t nv;
    int default_bit;
    int err;                 /* 1: out of memory, 2: bad input/internal */
    int64_t made;            /* nodes created (statistics) */
    int64_t probes;          /* unique-table lookups (statistics) */
    int32_t *cmap;           /* compaction's id map, kept between the compactions of one
                                classify() (freed by its last one) */
    int64_t cmapcap;
} Store;

/* ---------------------------------------------------------------- nodes and hashing */

/* A node is one run of pool words: [hash, meta, nk, kids..., breaks...], meta = level |
   (und + 1) << 16 | verd << 20 (level < 2**16: depth <= 4096). One node = one place in
   memory: reading a node (its level, width, kids and breaks) or checking a unique-table hit
   touches the off[] entry and one run of pool words (a cache line or two), instead of
   separate level/width/flag/hash arrays and the kids. */
#define HDR 3
#define NODE(N, x) ((N)->pool + (N)->off[x])
#define NK(N, x) (NODE(N, x)[2])
#define LEVEL(N, x) (NODE(N, x)[1] & 0xffff)
#define HASH(N, x) ((uint32_t)NODE(N, x)[0])
#define KIDS(N, x) (NODE(N, x) + HDR)
#define BRKS(N, x) (NODE(N, x) + HDR + NK(N, x))
#define KID(N, x, i) (KIDS(N, x)[i])
#define BRK(N, x, i) (BRKS(N, x)[i])
#define LVL(N, x) ((x) < 0 ? LEAFLVL : LEVEL(N, x))
#define META(level, und, verd) ((int32_t)((level) | (((und) + 1) << 16) | ((verd) << 20)))

static inline int get_und(const Nodes *N, int32_t x) { return ((NODE(N, x)[1] >> 16) & 3) - 1; }
static inline int get_verd(const Nodes *N, int32_t x) { return (NODE(N, x)[1] >> 20) & 3; }
static inline void set_und(Nodes *N, int32_t x, int u) {
    int32_t *m = NODE(N, x) + 1;
    *m = META(*m & 0xffff, u, (*m >> 20) & 3);
}
static inline void set_verd(Nodes *N, int32_t x, int v) {
    int32_t *m = NODE(N, x) + 1;
    *m = META(*m & 0xffff, ((*m >> 16) & 3) - 1, v & 3);
}

static int nodes_init(Nodes *N) {
    memset(N, 0, sizeof(*N));
    N->cap = 1024;
    N->off = malloc(sizeof(uint32_t) * N->cap);
    N->pcap = 8192;
    N->pool = malloc(sizeof(int32_t) * N->pcap);
    N->hcap = 2048;
    N->ht = malloc(sizeof(Slot) * N->hcap);
    if (!N->off || !N->pool || !N->ht) return -1;
    memset(N->ht, 0xff, sizeof(Slot) * N->hcap);
    return 0;
}

static void nodes_free(Nodes *N) {
    free(N->off); free(N->pool); free(N->ht);
    memset(N, 0, sizeof(*N));
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t hash_node(int32_t level, const int32_t *br, const int32_t *kd, int32_t nk) {
    /* two lanes of multiply-add-rotate over (kid, break) words: the multiplies are
       independent, so wide nodes hash at ~1 cycle per interval; a finaliser mixes */
    uint64_t a = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(uint32_t)level << 32) ^ (uint32_t)nk;
    uint64_t b = 0xC2B2AE3D27D4EB4FULL;
    int32_t i = 0;
    for (; i + 2 <= nk - 1; i += 2) {
        uint64_t w0 = ((uint64_t)(uint32_t)kd[i] << 32) | (uint32_t)br[i];
        uint64_t w1 = ((uint64_t)(uint32_t)kd[i + 1] << 32) | (uint32_t)br[i + 1];
        a = rotl64(a + w0 * 0xff51afd7ed558ccdULL, 29);
        b = rotl64(b + w1 * 0xc4ceb9fe1a85ec53ULL, 31);
    }
    if (i < nk - 1)
        a = rotl64(a + ((((uint64_t)(uint32_t)kd[i] << 32) | (uint32_t)br[i]) * 0x165667B19E3779F9ULL), 27);
    a += (uint64_t)(uint32_t)kd[nk - 1] * 0x94D049BB133111EBULL;
    uint64_t h = a ^ rotl64(b, 17);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t hash32(int32_t level, const int32_t *br, const int32_t *kd, int32_t nk) {
    uint64_t full = hash_node(level, br, kd, nk);
    return (uint32_t)(full ^ (full >> 32));
}

static int ht_grow(Nodes *N) {
    uint64_t ncap = N->hcap * 2;
    Slot *t = malloc(sizeof(Slot) * ncap);
    if (!t) return -1;
    memset(t, 0xff, sizeof(Slot) * ncap);
    for (uint64_t i = 0; i < N->hcap; i++) {
        if (N->ht[i].id < 0) continue;
        uint64_t h = N->ht[i].h & (ncap - 1);
        while (t[h].id >= 0) h = (h + 1) & (ncap - 1);
        t[h] = N->ht[i];
    }
    free(N->ht);
    N->ht = t;
    N->hcap = ncap;
    return 0;
}

/* The unique node for a reduced partition (nk >= 2). */
/* Reallocate the per-node array (off) to ``nc`` entries. If it could not be resized it
 * keeps its old block (still valid). Returns 1 when it was resized — growing must fail on
 * 0, shrinking may ignore it. ``N->cap`` is the caller's. */
static int nodes_resize(Nodes *N, int64_t nc) {
    uint32_t *o = realloc(N->off, sizeof(uint32_t) * nc);
    if (!o) return 0;
    N->off = o;
    return 1;
}

static int32_t mk_raw(Store *st, int32_t level, const int32_t *br, const int32_t *kd, int32_t nk) {
    Nodes *N = &st->nd;
    uint64_t mask = N->hcap - 1;
    st->probes++;
    uint32_t top = hash32(level, br, kd, nk);
    uint64_t h = top & mask;
    for (;;) {
        int32_t x = N->ht[h].id;
        if (x < 0) break;
        if (N->ht[h].h == top && NK(N, x) == nk && LEVEL(N, x) == level) {
            const int32_t *p = KIDS(N, x);
            if (memcmp(p, kd, sizeof(int32_t) * nk) == 0 &&
                memcmp(p + nk, br, sizeof(int32_t) * (nk - 1)) == 0)
                return x;
        }
        h = (h + 1) & mask;
    }
    if (N->n >= INT32_MAX - 1) { st->err = 1; return ERRV; }
    if (N->n == N->cap) {
        int64_t nc = N->cap * 2;
        if (!nodes_resize(N, nc)) { st->err = 1; return ERRV; }
        N->cap = nc;
    }
    int64_t need = N->pn + HDR + 2 * (int64_t)nk - 1;
    if (need > (int64_t)UINT32_MAX) { st->err = 1; return ERRV; }
    if (need > N->pcap) {
        int64_t nc = N->pcap * 2;
        while (nc < need) nc *= 2;
        int32_t *p = realloc(N->pool, sizeof(int32_t) * nc);
        if (!p) { st->err = 1; return ERRV; }
        N->pool = p;
        N->pcap = nc;
    }
    int32_t x = (int32_t)N->n++;
    st->made++;
    N->off[x] = (uint32_t)N->pn;
    int32_t *w = N->pool + N->pn;
    w[0] = (int32_t)top;
    w[1] = META(level, -1, 0);  /* und computed on demand (undecided()), verd too */
    w[2] = nk;
    memcpy(w + HDR, kd, sizeof(int32_t) * nk);
    memcpy(w + HDR + nk, br, sizeof(int32_t) * (nk - 1));
    N->pn = need;
    N->ht[h].id = x;
    N->ht[h].h = top;
    if ((uint64_t)N->n * 2 > N->hcap && ht_grow(N) < 0) { st->err = 1; return ERRV; }
    return x;
}

/* mdd.Store.mk: merge equal neighbours in place (br/kd are scratch), then mk_raw. */
static int32_t mk(Store *st, int32_t level, int32_t *br, int32_t *kd, int32_t nk) {
    int32_t m = 1;
    for (int32_t i = 1; i < nk; i++) {
        if (kd[i] == ERRV) return ERRV;
        if (kd[i] != kd[m - 1]) {
            br[m - 1] = br[i - 1];
            kd[m++] = kd[i];
        }
    }
    if (kd[0] == ERRV) return ERRV;
    if (m == 1) return kd[0];
    return mk_raw(st, level, br, kd, m);
}

/* ---------------------------------------------------------------- memo */

static int memo_init(Memo *M) {
    M->cap = 4096;
    M->used = 0;
    M->gen = 1;
    M->t = calloc(M->cap, sizeof(MEnt));
    return M->t ? 0 : -1;
}

static void memo_next(Memo *M) {
    M->used = 0;
    if (++M->gen == 0) {
        memset(M->t, 0, sizeof(MEnt) * M->cap);
        M->gen = 1;
    }
}

/* Give back a large table after a whole-filter call (stores live as long as analyses). */
static void memo_shrink(Memo *M) {
    if (M->cap <= 65536) return;
    MEnt *t = calloc(4096, sizeof(MEnt));
    if (!t) return;
    free(M->t);
    M->t = t;
    M->cap = 4096;
    M->used = 0;
    M->gen = 1;
}

static inline uint64_t memo_hash(const int32_t *k) {
    /* independent multiplies (no serial chain over the eight words), then a fold */
    uint64_t h = ((uint64_t)(uint32_t)k[0] * 0x9E3779B97F4A7C15ULL) ^
                 ((uint64_t)(uint32_t)k[1] * 0xC2B2AE3D27D4EB4FULL) ^
                 ((uint64_t)(uint32_t)k[2] * 0x165667B19E3779F9ULL) ^
                 ((uint64_t)(uint32_t)k[3] * 0xD6E8FEB86659FD93ULL) ^
                 ((uint64_t)(uint32_t)k[4] * 0xFF51AFD7ED558CCDULL) ^
                 ((uint64_t)(uint32_t)k[5] * 0xC4CEB9FE1A85EC53ULL) ^
                 ((uint64_t)(uint32_t)k[6] * 0x94D049BB133111EBULL) ^
                 ((uint64_t)(uint32_t)k[7] * 0xBF58476D1CE4E5B9ULL);
    return h ^ (h >> 32);
}

#define MEMO_MAX ((uint64_t)1 << 18)
/* Memo entries are exact while the table can grow; at MEMO_MAX entries (10 MB) it becomes a
   lossy cache (the home slot is overwritten, like a BDD package's computed table): results
   stay exact (nodes are hash-consed), only recomputation may follow an eviction. */

/* Entry for key k (ARITY ints): found (r valid) or the slot to fill. NULL: out of memory. */
static MEnt *memo_slot(Store *st, const int32_t *key, int *found) {
    Memo *M = &st->memo;
    if ((M->used + 1) * 2 > M->cap && M->cap < MEMO_MAX) {
        uint64_t ncap = M->cap * 2;
        MEnt *t = calloc(ncap, sizeof(MEnt));
        if (!t) { st->err = 1; return NULL; }
        for (uint64_t i = 0; i < M->cap; i++) {
            MEnt *e = &M->t[i];
            if (e->gen != M->gen) continue;
            uint64_t h = memo_hash(e->k) & (ncap - 1);
            while (t[h].gen == M->gen) h = (h + 1) & (ncap - 1);
            t[h] = *e;
        }
        free(M->t);
        M->t = t;
        M->cap = ncap;
    }
    uint64_t mask = M->cap - 1;
    uint64_t h = memo_hash(key) & mask;
    if ((M->used + 1) * 2 > M->cap) { /* lossy: the home slot only */
        MEnt *e = &M->t[h];
        *found = e->gen == M->gen && memcmp(e->k, key, sizeof(e->k)) == 0;
        return e;
    }
    for (;;) {
        MEnt *e = &M->t[h];
        if (e->gen != M->gen) {
            *found = 0;
            return e;
        }
        if (memcmp(e->k, key, sizeof(e->k)) == 0) {
            *found = 1;
            return e;
        }
        h = (h + 1) & mask;
    }
}

/* Keys: ARITY operands (composek, padded with UNDECIDED: never NOKEY) or three and NOKEY
   (every other pass; the third is the pass's tag or argument). */
#define NOKEY INT32_MIN

static int memo_getk(Store *st, const int32_t *key, int32_t *r) {
    int found;
    MEnt *e = memo_slot(st, key, &found);
    if (e && found) { *r = e->r; return 1; }
    return 0;
}

static void memo_putk(Store *st, const int32_t *key, int32_t r) {
    int found;
    MEnt *e = memo_slot(st, key, &found);
    if (!e) return;
    if (!found) {
        if (e->gen != st->memo.gen) st->memo.used++;
        memcpy(e->k, key, sizeof(e->k));
        e->gen = st->memo.gen;
    }
    e->r = r;
}

static inline void key3(int32_t *k, int32_t a, int32_t b, int32_t c) {
    k[0] = a; k[1] = b; k[2] = c;
    for (int i = 3; i < ARITY; i++) k[i] = NOKEY;
}

static int memo_get(Store *st, int32_t a, int32_t b, int32_t c, int32_t *r) {
    int32_t k[ARITY];
    key3(k, a, b, c);
    return memo_getk(st, k, r);
}

static void memo_put(Store *st, int32_t a, int32_t b, int32_t c, int32_t r) {
    int32_t k[ARITY];
    key3(k, a, b, c);
    memo_putk(st, k, r);
}

/* ---------------------------------------------------------------- flags */

/* Whether n reaches UNDECIDED or a (f, 0) terminal (cached per node). */
static int undecided_slow(Store *st, int32_t n);

static inline int undecided(Store *st, int32_t n) {
    if (n < 0) return n == T_UND || (n <= -4 && ENC_V(n) == 0);
    int u = get_und(&st->nd, n);
    return u >= 0 ? u : undecided_slow(st, n);
}

static int undecided_slow(Store *st, int32_t n) {
    Nodes *N = &st->nd;
    int got = 0;
    for (int32_t i = 0; i < NK(N, n) && !got; i++) got = undecided(st, KID(N, n, i));
    set_und(N, n, got);
    return got;
}

static int term_verdict(Store *st, int32_t t) {
    if (t == T_TRUE) return 1;
    if (t == T_FALSE) return 2;
    if (t == T_UND) return st->default_bit;
    int64_t i = ENC_F(t);  /* verdicts are read on classify()'s diagrams: (f, v) -> f's */
    if (i >= 0 && i < st->nv) return st->vbits[i];
    return 3;
}

static int verdict(Store *st, int32_t x) {
    if (x < 0) return term_verdict(st, x);
    Nodes *N = &st->nd;
    int v = get_verd(N, x);
    if (v) return v;
    int got = 0;
    for (int32_t i = 0; i < NK(N, x) && got != 3; i++) got |= verdict(st, KID(N, x, i));
    set_verd(N, x, got);
    return got;
}

/* ---------------------------------------------------------------- pointwise passes */

enum { OP_AND, OP_OR, OP_DIFF, OP_XOR };

static int32_t op_term(int op, int32_t a, int32_t b) {
    switch (op) {
    case OP_AND:
        if (a == T_FALSE || b == T_FALSE) return T_FALSE;
        if (a == T_TRUE || a == b) return b;
        if (b == T_TRUE) return a;
        break;
    case OP_OR:
        if (a == T_TRUE || b == T_TRUE) return T_TRUE;
        if (a == T_FALSE || a == b) return b;
        if (b == T_FALSE) return a;
        break;
    case OP_DIFF:
        if (a == T_FALSE || a == b || b == T_TRUE) return T_FALSE;
        if (b == T_FALSE) return a;
        if (a == T_TRUE && b < 0) return T_FALSE;
        break;
    default:
        if (a == b) return T_FALSE;
        if (a == T_FALSE) return b;
        if (b == T_FALSE) return a;
        break;
    }
    return ERRV;
}

static int32_t apply_rec(Store *st, int op, int32_t a, int32_t b) {
    int32_t t = op_term(op, a, b);
    if (t != ERRV) return t;
    if (a < 0 && b < 0) { st->err = 2; return ERRV; } /* non-boolean terminals */
    int32_t r;
    if (memo_get(st, a, b, op, &r)) return r;
    if (st->err) return ERRV;
    Nodes *N = &st->nd;
    int32_t la = LVL(N, a), lb = LVL(N, b);
    int32_t lv = la < lb ? la : lb;
    int32_t *ob = st->sb[lv], *ok = st->sk[lv];
    int32_t cnt;
    if (la < lb) {
        cnt = NK(N, a);
        for (int32_t i = 0; i < cnt; i++) {
            ok[i] = apply_rec(st, op, KID(N, a, i), b);
            if (i + 1 < cnt) ob[i] = BRK(N, a, i);
        }
    } else if (lb < la) {
        cnt = NK(N, b);
        for (int32_t i = 0; i < cnt; i++) {
            ok[i] = apply_rec(st, op, a, KID(N, b, i));
            if (i + 1 < cnt) ob[i] = BRK(N, b, i);
        }
    } else {
        int32_t na = NK(N, a) - 1, nb = NK(N, b) - 1, i = 0, j = 0;
        ok[0] = apply_rec(st, op, KID(N, a, 0), KID(N, b, 0));
        cnt = 1;
        while (i < na || j < nb) {
            int32_t x = i < na ? BRK(N, a, i) : INT32_MAX;
            int32_t y = j < nb ? BRK(N, b, j) : INT32_MAX;
            int32_t br = x < y ? x : y;
            if (x == br) i++;
            if (y == br) j++;
            ob[cnt - 1] = br;
            ok[cnt++] = apply_rec(st, op, KID(N, a, i), KID(N, b, j));
        }
    }
    r = mk(st, lv, ob, ok, cnt);
    if (r != ERRV) memo_put(st, a, b, op, r);
    return r;
}

/* ---------------------------------------------------------------- two-level classification

   classify() builds, for the enabled rules in order, the diagram c2 mapping each point to
   (first matching rule f, verdict v of the second matching rule), v = 0 when no later rule
   matches (the default decides then).  A single rule is its match with TRUE -> (i, 0) and
   FALSE -> UNDECIDED; two consecutive blocks a (earlier) and b compose pointwise:
     a undecided -> b;  a = (f, v), v != 0 -> a;  a = (f, 0) -> (f, verdict of b's first)
     (b undecided: a).
   Composition is associative, so the blocks are combined as a balanced ARITY-ary tree
   (composek_rec: eight blocks per pass, no intermediate results): each any-field
   rule meets the other rules' branches once per tree level instead of once per rule, and
   the work is about the size of the results, not rules x classification (the sequential
   paint's fan-out).  The first-level classification c is c2 with (f, v) -> rule_leaf(f);
   a rule is live iff some (f, .) terminal remains; a live rule is removable iff every v it
   has (0 read as the default) is its own verdict.  The und flag of a node says whether it
   reaches UNDECIDED or some (f, 0): a node without it is final and composition skips it. */

enum { MAP_PERMIT, MAP_SINGLE, MAP_FIRST };

static int32_t tmap_term(Store *st, int mode, int32_t t, int32_t arg) {
    switch (mode) {
    case MAP_PERMIT:
        return term_verdict(st, t) == 1 ? T_TRUE : T_FALSE;
    case MAP_SINGLE:
        if (t == T_TRUE) return ENC(arg, 0);
        if (t == T_FALSE) return T_UND;
        break;
    default:
        if (t == T_UND) return T_UND;
        if (t <= -4) return -4 - ENC_F(t);
        break;
    }
    st->err = 2;
    return ERRV;
}

/* amemo: a per-node result array for whole-diagram maps (exact, no hashing), or NULL for
   the shared memo (small maps: one per rule). Nodes made during the map are results only,
   never inputs, so the array covers every input. */
static int32_t tmap_rec(Store *st, int mode, int32_t n, int32_t arg, int32_t *amemo) {
    if (n < 0) return tmap_term(st, mode, n, arg);
    int32_t r;
    if (amemo) {
        if (amemo[n] != ERRV) return amemo[n];
    } else {
        if (memo_get(st, n, arg, -10 - mode, &r)) return r;
        if (st->err) return ERRV;
    }
    Nodes *N = &st->nd;
    int32_t lv = LEVEL(N, n), cnt = NK(N, n);
    int32_t *ob = st->sb[lv], *ok = st->sk[lv];
    for (int32_t i = 0; i < cnt; i++) {
        ok[i] = tmap_rec(st, mode, KID(N, n, i), arg, amemo);
        if (i + 1 < cnt) ob[i] = BRK(N, n, i);
    }
    r = mk(st, lv, ob, ok, cnt);
    if (r != ERRV) {
        if (amemo) amemo[n] = r;
        else memo_put(st, n, arg, -10 - mode, r);
    }
    return r;
}

/* A whole-diagram map with a per-node memo array. */
static int32_t tmap_all(Store *st, int mode, int32_t root, int32_t arg) {
    int64_t n = st->nd.n;
    int32_t *amemo = malloc(sizeof(int32_t) * (n ? n : 1));
    if (!amemo) { st->err = 1; return ERRV; }
    for (int64_t i = 0; i < n; i++) amemo[i] = ERRV;
    int32_t r = tmap_rec(st, mode, root, arg, amemo);
    free(amemo);
    return r;
}

static int32_t compose_rec(Store *st, int32_t a, int32_t b) {
    Nodes *N = &st->nd;
    if (a == T_UND) return b;
    if (b == T_UND) return a;
    if (a >= 0) {
        if (!undecided(st, a)) return a;
    } else {
        if (ENC_V(a) != 0) return a;
        if (b < 0) {
            int32_t g = ENC_F(b);
            if (g < 0 || g >= st->nv) { st->err = 2; return ERRV; }
            return ENC(ENC_F(a), st->vbits[g] == 1 ? 1 : 2);
        }
    }
    int32_t r;
    if (memo_get(st, a, b, -6, &r)) return r;
    if (st->err) return ERRV;
    int32_t la = LVL(N, a), lb = LVL(N, b);
    int32_t lv = la < lb ? la : lb;
    int32_t *ob = st->sb[lv], *ok = st->sk[lv], *op = st->sp[lv];
    int32_t cnt;
    /* gather the operand pairs first and prefetch their memo slots, so the children's
       lookups (random accesses into a large table) overlap instead of queueing */
    if (la < lb) {
        cnt = NK(N, a);
        for (int32_t i = 0; i < cnt; i++) {
            ok[i] = KID(N, a, i);
            op[i] = b;
            if (i + 1 < cnt) ob[i] = BRK(N, a, i);
        }
    } else if (lb < la) {
        cnt = NK(N, b);
        for (int32_t i = 0; i < cnt; i++) {
            ok[i] = a;
            op[i] = KID(N, b, i);
            if (i + 1 < cnt) ob[i] = BRK(N, b, i);
        }
    } else {
        int32_t na = NK(N, a) - 1, nb = NK(N, b) - 1, i = 0, j = 0;
        ok[0] = KID(N, a, 0);
        op[0] = KID(N, b, 0);
        cnt = 1;
        while (i < na || j < nb) {
            int32_t x = i < na ? BRK(N, a, i) : INT32_MAX;
            int32_t y = j < nb ? BRK(N, b, j) : INT32_MAX;
            int32_t br = x < y ? x : y;
            if (x == br) i++;
            if (y == br) j++;
            ob[cnt - 1] = br;
            ok[cnt] = KID(N, a, i);
            op[cnt++] = KID(N, b, j);
        }
    }
#if defined(__GNUC__) || defined(__clang__)
    {
        uint64_t mask = st->memo.cap - 1;
        int32_t k[ARITY];
        key3(k, 0, 0, -6);
        for (int32_t i = 0; i < cnt; i++)
            if (ok[i] != T_UND && op[i] != T_UND && (ok[i] >= 0 || op[i] >= 0)) {
                k[0] = ok[i];
                k[1] = op[i];
                __builtin_prefetch(&st->memo.t[memo_hash(k) & mask]);
            }
    }
#endif
    /* the result is a (or b) itself when every piece came back as a's (b's) own piece:
       then no unique-table probe (a cache miss on large stores) is needed */
    int same_a = la <= lb, same_b = lb <= la;
    for (int32_t i = 0; i < cnt; i++) {
        int32_t x = ok[i], y = op[i];
        ok[i] = compose_rec(st, x, y);
        same_a &= ok[i] == x;
        same_b &= ok[i] == y;
    }
    if (st->err) return ERRV;
    r = same_a ? a : same_b ? b : mk(st, lv, ob, ok, cnt);
    if (r != ERRV) memo_put(st, a, b, -6, r);
    return r;
}

/* A node's partition at level lv (one interval of x itself when x lies below lv). */
typedef struct { const int32_t *b, *k; int32_t nk; int32_t self; } Part;

static void split(Store *st, int32_t x, int32_t lv, Part *p) {
    Nodes *N = &st->nd;
    if (x < 0 || LEVEL(N, x) != lv) {
        p->self = x; p->b = NULL; p->k = &p->self; p->nk = 1;
    } else {
        p->k = KIDS(N, x);
        p->nk = NK(N, x);
        p->b = p->k + p->nk;
    }
}

/* Whether block x decides every point for good: no UNDECIDED and no (f, 0) terminal, so no
   later block can change anything under it. */
static inline int final_block(Store *st, int32_t x) {
    return x >= 0 ? !undecided(st, x) : x != T_UND && ENC_V(x) != 0;
}

/* Composition of up to ARITY consecutive blocks at once (in[0] first): one pass makes the
   result without the intermediate compositions a binary tree would build. Operands are
   normalised first (composition is associative, UNDECIDED its identity): UNDECIDED ones
   dropped, adjacent terminals folded, everything after a final block dropped (no point
   reaches it), a final first operand returned; at most two left go to compose_rec. */
static int32_t composek_rec(Store *st, const int32_t *in) {
    Nodes *N = &st->nd;
    int32_t o[ARITY];
    int k = 0;
    for (int i = 0; i < ARITY; i++) {
        int32_t x = in[i];
        if (x == T_UND) continue;
        if (k && x < 0 && o[k - 1] < 0) {  /* two terminals: fold them */
            x = compose_rec(st, o[k - 1], x);
            if (x == ERRV) return ERRV;
            k--;
        }
        o[k++] = x;
        if (final_block(st, x)) break;
    }
    if (k == 0) return T_UND;
    if (k == 1) return o[0];
    if (k == 2) return compose_rec(st, o[0], o[1]);
    for (int i = k; i < ARITY; i++) o[i] = T_UND;
    int32_t r;
    if (memo_getk(st, o, &r)) return r;
    if (st->err) return ERRV;
    int32_t lv = LEAFLVL;
    for (int i = 0; i < k; i++) { int32_t l = LVL(N, o[i]); if (l < lv) lv = l; }
    /* joint partition: one kid tuple per interval. Only operands with a node at this level
       (act[]) have breaks; the others give the same kid to every tuple (tpl). */
    Part p[ARITY];
    int32_t tpl[ARITY];
    int act[ARITY], na = 0;
    for (int i = 0; i < ARITY; i++) tpl[i] = o[i];
    for (int i = 0; i < k; i++) {
        split(st, o[i], lv, &p[i]);
        if (p[i].nk > 1) act[na++] = i;
    }
    int32_t *ob = st->sb[lv], *ok = st->sk[lv], *q = st->sq[lv];
    int32_t cnt = 0;
    if (na == 1) {  /* one operand branches here: its own partition */
        int i = act[0];
        cnt = p[i].nk;
        for (int32_t j = 0; j < cnt; j++) {
            int32_t *t = q + ARITY * j;
            memcpy(t, tpl, sizeof(tpl));
            t[i] = p[i].k[j];
        }
        for (int32_t j = 0; j + 1 < cnt; j++) ob[j] = p[i].b[j];
    } else {  /* merge the active operands' breaks; cur: each one's next break */
        int32_t at[ARITY], cur[ARITY];
        for (int j = 0; j < na; j++) { at[j] = 0; cur[j] = p[act[j]].b[0]; }
        for (;;) {
            int32_t *t = q + ARITY * cnt;
            memcpy(t, tpl, sizeof(tpl));
            int32_t br = INT32_MAX;
            for (int j = 0; j < na; j++) {
                t[act[j]] = p[act[j]].k[at[j]];
                if (cur[j] < br) br = cur[j];
            }
            cnt++;
            if (br == INT32_MAX) break;
            for (int j = 0; j < na; j++) {
                if (cur[j] != br) continue;
                const Part *pj = &p[act[j]];
                cur[j] = ++at[j] < pj->nk - 1 ? pj->b[at[j]] : INT32_MAX;
            }
            ob[cnt - 1] = br;
        }
    }
#if defined(__GNUC__) || defined(__clang__)
    {
        uint64_t mask = st->memo.cap - 1;
        for (int32_t i = 0; i < cnt; i++)
            __builtin_prefetch(&st->memo.t[memo_hash(q + ARITY * i) & mask]);
    }
#endif
    int same = LVL(N, o[0]) == lv;
    for (int32_t i = 0; i < cnt; i++) {
        ok[i] = composek_rec(st, q + ARITY * i);
        same &= ok[i] == q[ARITY * i];
    }
    if (st->err) return ERRV;
    r = same ? o[0] : mk(st, lv, ob, ok, cnt);
    if (r != ERRV) memo_putk(st, o, r);
    return r;
}

/* Per filter index f: bit 0 some (f, .) terminal, bits 1-2 the second verdicts seen. */
static void collect_rec(Store *st, int32_t n, uint8_t *seen, uint8_t *flags, int64_t nflags) {
    if (n < 0) {
        if (n <= -4) {
            int32_t f = ENC_F(n);
            int v = ENC_V(n);
            if (f >= 0 && f < nflags)
                flags[f] |= (uint8_t)(1 | ((v ? v : st->default_bit) << 1));
        }
        return;
    }
    if (seen[n]) return;
    seen[n] = 1;
    for (int32_t i = 0; i < NK(&st->nd, n); i++) collect_rec(st, KID(&st->nd, n, i), seen, flags, nflags);
}

/* ---------------------------------------------------------------- walks */

static int32_t bisect_right(const int32_t *a, int32_t n, int32_t v) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (v < a[mid]) hi = mid; else lo = mid + 1;
    }
    return lo;
}

static int32_t bisect_left(const int32_t *a, int32_t n, int32_t v) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (a[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
}


/* Whether some point of m has a verdict other than bit in c (dead rules). m is a rule's
   boolean diagram or its single-rule block (classify(): TRUE -> (i, 0), FALSE -> UNDECIDED),
   so UNDECIDED counts as FALSE and a (f, v) terminal as TRUE. */
static int other_rec(Store *st, int32_t c, int32_t m, int bit) {
    if (m == T_FALSE || m == T_UND) return 0;
    if (!(verdict(st, c) & ~bit)) return 0;
    if (c < 0 || m < 0) return 1;
    int32_t r;
    if (memo_get(st, c, m, -4, &r)) return 0;
    if (st->err) return -1;
    memo_put(st, c, m, -4, 0);
    Nodes *N = &st->nd;
    int32_t lc = LEVEL(N, c), lm = LEVEL(N, m);
    int32_t lv = lc < lm ? lc : lm;
    Part pc, pm;
    split(st, c, lv, &pc);
    split(st, m, lv, &pm);
    for (int32_t j = 0; j < pm.nk; j++) {
        int32_t y = pm.k[j];
        if (y == T_FALSE || y == T_UND) continue;
        int32_t lo = j ? pm.b[j - 1] : 0;
        int32_t i0 = j ? bisect_right(pc.b, pc.nk - 1, lo) : 0;
        int32_t i1 = j < pm.nk - 1 ? bisect_left(pc.b, pc.nk - 1, pm.b[j]) + 1 : pc.nk;
        for (int32_t i = i0; i < i1; i++) {
            int got = other_rec(st, pc.k[i], y, bit);
            if (got) return got;
        }
    }
    return st->err ? -1 : 0;
}

static int64_t count_nodes(Store *st, int32_t root, uint8_t *seen) {
    if (root < 0 || seen[root]) return 0;
    seen[root] = 1;
    int64_t c = 1;
    for (int32_t i = 0; i < NK(&st->nd, root); i++) c += count_nodes(st, KID(&st->nd, root, i), seen);
    return c;
}

/* ---------------------------------------------------------------- compaction */

/* Give back what the nodes do not need of the node and pool arrays (large blocks shrink in
   place). */
static void give_back(Nodes *N) {
    if (N->cap > 4096 && N->cap > 2 * N->n) {
        int64_t nc = N->n + N->n / 4 + 1024;
        nodes_resize(N, nc);
        N->cap = nc; /* an array that did not shrink keeps its larger block: still safe */
    }
    if (N->pcap > 65536 && N->pcap > 2 * N->pn) {
        int64_t nc = N->pn + N->pn / 4 + 8192;
        int32_t *p = realloc(N->pool, sizeof(int32_t) * nc);
        if (p) { N->pool = p; N->pcap = nc; }
    }
}

/* Keep only what roots[] reach, in place: kids always have smaller ids than their parents
   (a node is created after its kids), so one downward pass marks the live nodes and one
   upward pass slides them down (ids renumbered in order, the invariant kept, roots[]
   rewritten); then the unique table is rebuilt. Peak memory: one int32 per node extra.
   keep: the store is about to grow again (classify()'s compactions but its last): its
   blocks (node and pool arrays, unique table, id map) are kept and reused rather than
   given back and allocated anew, which would make the kernel clear fresh pages on every
   cycle (measured ~1.5 s of system time over a 100k-rule classify). */
static int compact(Store *st, int32_t *roots, Py_ssize_t n, int keep) {
    Nodes *N = &st->nd;
    int64_t total = N->n;
    int32_t *map = st->cmap;
    if (!map || st->cmapcap < total) {
        free(st->cmap);
        st->cmapcap = 0;
        st->cmap = map = malloc(sizeof(int32_t) * (total ? total : 1));
        if (!map) { st->err = 1; return -1; }
        st->cmapcap = total ? total : 1;
    }
    for (int64_t x = 0; x < total; x++) map[x] = -1;
    for (Py_ssize_t i = 0; i < n; i++) if (roots[i] >= 0) map[roots[i]] = 0;
    for (int64_t x = total - 1; x >= 0; x--) {
        if (map[x] < 0) continue;
        for (int32_t i = 0; i < NK(N, x); i++) {
            int32_t k = KID(N, x, i);
            if (k >= 0) map[k] = 0;
        }
    }
    int64_t j = 0, pn = 0;
    for (int64_t x = 0; x < total; x++) {
        if (map[x] < 0) continue;
        int32_t nk = NK(N, x);
        int64_t len = HDR + 2 * (int64_t)nk - 1;
        if (pn != N->off[x]) memmove(N->pool + pn, NODE(N, x), sizeof(int32_t) * len);
        int32_t *w = N->pool + pn;  /* the node's header and kids at their new place */
        int renamed = 0;
        for (int32_t i = 0; i < nk; i++) {
            int32_t k = w[HDR + i];
            if (k >= 0 && map[k] != k) { w[HDR + i] = map[k]; renamed = 1; }
        }
        N->off[j] = (uint32_t)pn;
        /* the hash covers the kids' ids: renamed kids, new hash (else the node would sit in
           the wrong bucket and its next construction would make a duplicate) */
        if (renamed) w[0] = (int32_t)hash32(w[1] & 0xffff, w + HDR + nk, w + HDR, nk);
        map[x] = (int32_t)j++;
        pn += len;
    }
    for (Py_ssize_t i = 0; i < n; i++) if (roots[i] >= 0) roots[i] = map[roots[i]];
    if (!keep) { free(st->cmap); st->cmap = NULL; st->cmapcap = 0; }
    N->n = j;
    N->pn = pn;
    uint64_t cap = 2048;
    while (cap < (uint64_t)j * 3) cap *= 2;
    if (keep && cap <= N->hcap) cap = N->hcap;  /* refill the table in place */
    Slot *t = cap == N->hcap ? N->ht : malloc(sizeof(Slot) * cap);
    if (!t) { st->err = 1; return -1; }
    memset(t, 0xff, sizeof(Slot) * cap);
    for (int64_t x = 0; x < j; x++) {
        uint32_t hx = HASH(N, x);
        uint64_t h = hx & (cap - 1);
        while (t[h].id >= 0) h = (h + 1) & (cap - 1);
        t[h].id = (int32_t)x;
        t[h].h = hx;
    }
    if (t != N->ht) free(N->ht);
    N->ht = t;
    N->hcap = cap;
    if (!keep) give_back(N);
    memo_next(&st->memo);
    return 0;
}

/* ---------------------------------------------------------------- Python glue */

static int u128_of(PyObject *v, uint64_t *hi, uint64_t *lo);

#define READY(st) do { if (!(st)->sb) { PyErr_SetString(PyExc_RuntimeError, \
    "_mddc.Store not initialised"); return NULL; } } while (0)

static PyObject *raise_err(Store *st) {
    int e = st->err;
    st->err = 0;
    if (PyErr_Occurred()) return NULL;
    if (e == 1) return PyErr_NoMemory();
    if (e == 3) { PyErr_SetString(PyExc_ValueError, "_mddc: bad box input"); return NULL; }
    PyErr_SetString(PyExc_ValueError, "_mddc: invalid diagram input");
    return NULL;
}

static int32_t *int_array(PyObject *seq, Py_ssize_t *n, Store *st, int check_node) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of ints");
    if (!fast) return NULL;
    *n = PySequence_Fast_GET_SIZE(fast);
    int32_t *out = malloc(sizeof(int32_t) * (*n ? *n : 1));
    if (!out) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t i = 0; i < *n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) { free(out); Py_DECREF(fast); return NULL; }
        if (v < INT32_MIN + 1 || v > INT32_MAX ||
            (check_node && v >= 0 && v >= st->nd.n)) {
            free(out); Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "_mddc: node id out of range");
            return NULL;
        }
        out[i] = (int32_t)v;
    }
    Py_DECREF(fast);
    return out;
}

static PyObject *int_list(const int32_t *a, Py_ssize_t n) {
    PyObject *l = PyList_New(n);
    if (!l) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(a[i]);
        if (!v) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, i, v);
    }
    return l;
}

static void Store_dealloc(Store *st) {
    nodes_free(&st->nd);
    free(st->memo.t);
    if (st->sb) for (int32_t l = 0; l < st->depth; l++) { free(st->sb[l]); free(st->sk[l]); free(st->sp[l]); free(st->sq[l]); }
    free(st->sb); free(st->sk); free(st->sp); free(st->sq); free(st->maxd); free(st->fld);
    for (int f = 0; f < 2; f++) { free(st->wid[f]); free(st->sft[f]); }
    free(st->vbits);
    free(st->cmap);
    Py_TYPE(st)->tp_free((PyObject *)st);
}

/* Store(layout): layout is a sequence, one (field, w4, s4, w6, s6) per level. */
static int Store_init(Store *st, PyObject *args, PyObject *kw) {
    (void)kw;
    PyObject *layout;
    if (!PyArg_ParseTuple(args, "O", &layout)) return -1;
    if (st->sb) { PyErr_SetString(PyExc_RuntimeError, "Store initialised twice"); return -1; }
    PyObject *fast = PySequence_Fast(layout, "layout must be a sequence");
    if (!fast) return -1;
    Py_ssize_t d = PySequence_Fast_GET_SIZE(fast);
    if (d < 1 || d > 4096) { Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "bad depth"); return -1; }
    st->depth = (int32_t)d;
    st->maxd = calloc(d, sizeof(int32_t));
    st->fld = calloc(d, sizeof(int32_t));
    st->sb = calloc(d, sizeof(int32_t *));
    st->sk = calloc(d, sizeof(int32_t *));
    st->sp = calloc(d, sizeof(int32_t *));
    st->sq = calloc(d, sizeof(int32_t *));
    for (int f = 0; f < 2; f++) { st->wid[f] = calloc(d, sizeof(int32_t)); st->sft[f] = calloc(d, sizeof(int32_t)); }
    if (!st->maxd || !st->fld || !st->sb || !st->sk || !st->sp || !st->sq || !st->wid[0] || !st->wid[1]
        || !st->sft[0] || !st->sft[1] || nodes_init(&st->nd) < 0 || memo_init(&st->memo) < 0) {
        Py_DECREF(fast); PyErr_NoMemory(); return -1;
    }
    for (Py_ssize_t l = 0; l < d; l++) {
        int f, w4, s4, w6, s6;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, l), "iiiii", &f, &w4, &s4, &w6, &s6)) {
            Py_DECREF(fast); return -1;
        }
        if (f < 0 || f >= NFIELDS || w4 < 0 || w4 > 16 || w6 < 0 || w6 > 16 || s4 < 0 ||
            s4 > 127 || s6 < 0 || s6 > 127 || (w4 == 0 && w6 == 0)) {
            Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "bad layout"); return -1;
        }
        st->fld[l] = f;
        st->wid[0][l] = w4; st->sft[0][l] = s4; st->wid[1][l] = w6; st->sft[1][l] = s6;
        int w = w4 > w6 ? w4 : w6;
        st->maxd[l] = (1 << w) - 1;
        st->sb[l] = malloc(sizeof(int32_t) * ((size_t)1 << w));
        st->sk[l] = malloc(sizeof(int32_t) * (((size_t)1 << w) + 1));
        st->sp[l] = malloc(sizeof(int32_t) * (((size_t)1 << w) + 1));
        st->sq[l] = malloc(sizeof(int32_t) * ARITY * (((size_t)1 << w) + 1));
        if (!st->sb[l] || !st->sk[l] || !st->sp[l] || !st->sq[l]) { Py_DECREF(fast); PyErr_NoMemory(); return -1; }
    }
    Py_DECREF(fast);
    st->default_bit = 2;
    return 0;
}

/* load(levels, breaks, kids, roots) -> ids: copy nodes of a Python mdd.Store (its three
   lists) reachable from roots; every node is validated. */
typedef struct { PyObject *lv, *br, *kd; int32_t *map; Py_ssize_t n; } Src;

static int32_t load_rec(Store *st, Src *S, long x, int32_t parent_level) {
    if (x < 0) {
        if (x < -(1L << 30)) { st->err = 2; return ERRV; }
        return (int32_t)x;
    }
    if (x >= S->n) { st->err = 2; return ERRV; }
    if (S->map[x] == ERRV + 1) { st->err = 2; return ERRV; } /* cycle */
    if (S->map[x] != ERRV) {
        int32_t r = S->map[x];
        if (r >= 0 && LEVEL(&st->nd, r) <= parent_level) { st->err = 2; return ERRV; }
        return r;
    }
    S->map[x] = ERRV + 1;
    long lv = PyLong_AsLong(PyList_GET_ITEM(S->lv, x));
    PyObject *bt = PyList_GET_ITEM(S->br, x), *kt = PyList_GET_ITEM(S->kd, x);
    if ((lv == -1 && PyErr_Occurred()) || lv <= parent_level || lv >= st->depth ||
        !PyTuple_Check(bt) || !PyTuple_Check(kt)) { st->err = 2; return ERRV; }
    Py_ssize_t nk = PyTuple_GET_SIZE(kt);
    if (nk < 2 || PyTuple_GET_SIZE(bt) != nk - 1 || nk - 1 > st->maxd[lv]) { st->err = 2; return ERRV; }
    int32_t *ob = st->sb[lv], *ok = st->sk[lv];
    long prev = 0;
    for (Py_ssize_t i = 0; i < nk - 1; i++) {
        long b = PyLong_AsLong(PyTuple_GET_ITEM(bt, i));
        if ((b == -1 && PyErr_Occurred()) || b <= prev || b > st->maxd[lv]) { st->err = 2; return ERRV; }
        ob[i] = (int32_t)b;
        prev = b;
    }
    for (Py_ssize_t i = 0; i < nk; i++) {
        long k = PyLong_AsLong(PyTuple_GET_ITEM(kt, i));
        if (k == -1 && PyErr_Occurred()) { st->err = 2; return ERRV; }
        int32_t r = load_rec(st, S, k, (int32_t)lv);
        if (r == ERRV) return ERRV;
        ok[i] = r;
    }
    /* ob/ok belong to level lv: children used deeper levels only */
    int32_t r = mk(st, (int32_t)lv, ob, ok, (int32_t)nk);
    if (r == ERRV) return ERRV;
    S->map[x] = r;
    return r;
}

static PyObject *Store_load(Store *st, PyObject *args) {
    READY(st);
    PyObject *lv, *br, *kd, *roots;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyList_Type, &lv, &PyList_Type, &br, &PyList_Type,
                          &kd, &roots)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lv);
    if (PyList_GET_SIZE(br) != n || PyList_GET_SIZE(kd) != n) {
        PyErr_SetString(PyExc_ValueError, "store lists differ in length");
        return NULL;
    }
    Py_ssize_t nr;
    int32_t *rs = int_array(roots, &nr, st, 0);
    if (!rs) return NULL;
    Src S = {lv, br, kd, malloc(sizeof(int32_t) * (n ? n : 1)), n};
    if (!S.map) { free(rs); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) S.map[i] = ERRV;
    for (Py_ssize_t i = 0; i < nr && !st->err; i++) rs[i] = load_rec(st, &S, rs[i], -1);
    free(S.map);
    PyObject *out = st->err ? raise_err(st) : int_list(rs, nr);
    free(rs);
    return out;
}

/* export(roots, levels, breaks, kids, und, unique) -> ids in the Python mdd.Store. */
typedef struct { PyObject *lv, *br, *kd, *und, *uq; int32_t *map; } Dst;

static long export_rec(Store *st, Dst *D, int32_t x) {
    if (x < 0) return x;
    if (D->map[x] != ERRV) return D->map[x];
    Nodes *N = &st->nd;
    int32_t nk = NK(N, x);
    PyObject *kt = PyTuple_New(nk), *bt = PyTuple_New(nk - 1);
    if (!kt || !bt) { Py_XDECREF(kt); Py_XDECREF(bt); return LONG_MIN; }
    for (int32_t i = 0; i < nk; i++) {
        long k = export_rec(st, D, KID(N, x, i));
        PyObject *v = k == LONG_MIN ? NULL : PyLong_FromLong(k);
        if (!v) { Py_DECREF(kt); Py_DECREF(bt); return LONG_MIN; }
        PyTuple_SET_ITEM(kt, i, v);
    }
    for (int32_t i = 0; i + 1 < nk; i++) {
        PyObject *v = PyLong_FromLong(BRK(N, x, i));
        if (!v) { Py_DECREF(kt); Py_DECREF(bt); return LONG_MIN; }
        PyTuple_SET_ITEM(bt, i, v);
    }
    /* tuples of ints (and the key, a tuple of those) can be in no reference cycle: untracked
       now, the cyclic collector never has to visit the exported store (CPython would untrack
       them itself, but only after a collection has visited each once) */
    PyObject_GC_UnTrack(kt);
    PyObject_GC_UnTrack(bt);
    PyObject *lvo = PyLong_FromLong(LEVEL(N, x));
    PyObject *key = lvo ? PyTuple_Pack(3, lvo, bt, kt) : NULL;
    if (key) PyObject_GC_UnTrack(key);
    long r = LONG_MIN;
    if (key) {
        PyObject *got = PyDict_GetItemWithError(D->uq, key);
        if (got) {
            r = PyLong_AsLong(got);
        } else if (!PyErr_Occurred()) {
            Py_ssize_t id = PyList_GET_SIZE(D->lv);
            PyObject *ido = PyLong_FromSsize_t(id);
            PyObject *u = Py_None; /* C's flag has classify()'s meaning: Python recomputes */
            if (ido && PyList_Append(D->lv, lvo) == 0 && PyList_Append(D->br, bt) == 0 &&
                PyList_Append(D->kd, kt) == 0 && PyList_Append(D->und, u) == 0 &&
                PyDict_SetItem(D->uq, key, ido) == 0)
                r = (long)id;
            Py_XDECREF(ido);
        }
    }
    Py_XDECREF(key); Py_XDECREF(lvo); Py_DECREF(kt); Py_DECREF(bt);
    if (r == -1 && PyErr_Occurred()) r = LONG_MIN;
    if (r != LONG_MIN) D->map[x] = (int32_t)r;
    return r;
}

static PyObject *Store_export(Store *st, PyObject *args) {
    READY(st);
    PyObject *roots;
    Dst D;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!", &roots, &PyList_Type, &D.lv, &PyList_Type, &D.br,
                          &PyList_Type, &D.kd, &PyList_Type, &D.und, &PyDict_Type, &D.uq))
        return NULL;
    Py_ssize_t nr;
    int32_t *rs = int_array(roots, &nr, st, 1);
    if (!rs) return NULL;
    D.map = malloc(sizeof(int32_t) * (st->nd.n ? st->nd.n : 1));
    if (!D.map) { free(rs); return PyErr_NoMemory(); }
    for (int64_t i = 0; i < st->nd.n; i++) D.map[i] = ERRV;
    PyObject *out = PyList_New(nr);
    for (Py_ssize_t i = 0; out && i < nr; i++) {
        long r = export_rec(st, &D, rs[i]);
        PyObject *v = r == LONG_MIN ? NULL : PyLong_FromLong(r);
        if (!v) { Py_CLEAR(out); break; }
        PyList_SET_ITEM(out, i, v);
    }
    free(D.map); free(rs);
    return out;
}

/* set_verdicts(bits: bytes, default_bit): verdict bit (1 permit, 2 deny) per rule index. */
static PyObject *Store_set_verdicts(Store *st, PyObject *args) {
    READY(st);
    Py_buffer b;
    int dflt;
    if (!PyArg_ParseTuple(args, "y*i", &b, &dflt)) return NULL;
    if (b.len > (INT32_MAX - 16) / 3) {  /* (rule, verdict) terminals must fit an int32 */
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "too many rules");
        return NULL;
    }
    uint8_t *v = malloc(b.len ? b.len : 1);
    if (!v) { PyBuffer_Release(&b); return PyErr_NoMemory(); }
    memcpy(v, b.buf, b.len);
    for (Py_ssize_t i = 0; i < b.len; i++) if (v[i] != 1 && v[i] != 2) v[i] = 3;
    free(st->vbits);
    st->vbits = v;
    st->nv = b.len;
    st->default_bit = dflt == 1 ? 1 : 2;
    PyBuffer_Release(&b);
    for (int64_t x = 0; x < st->nd.n; x++) set_verd(&st->nd, (int32_t)x, 0);
    Py_RETURN_NONE;
}

/* classify(rules, indices, extra, minimum, factor) -> (c2, flags, blocks, extra'): the
   two-level classification of the enabled rules (diagrams rules[k] of filter index
   indices[k]) by balanced ARITY-ary composition (first() gives the classification); flags per rule
   position: bit 0 live, bits 1-2 the verdicts (1 permit, 2 deny) that would decide its
   packets without it; blocks: each rule's single-rule block (its diagram with TRUE -> (i, 0),
   FALSE -> UNDECIDED), which dead() accepts in place of the rule; the rule diagrams
   themselves are not kept. */
static PyObject *Store_classify(Store *st, PyObject *args) {
    READY(st);
    PyObject *rules_o, *idx_o, *extra_o;
    long long minimum, factor;
    if (!PyArg_ParseTuple(args, "OOOLL", &rules_o, &idx_o, &extra_o, &minimum, &factor))
        return NULL;
    Py_ssize_t nr, ni, ne;
    int32_t *rules = NULL, *idx = NULL, *extra = NULL, *items = NULL, *roots = NULL;
    uint8_t *seen = NULL;
    PyObject *flags = NULL, *out = NULL;
    if (!(idx = int_array(idx_o, &ni, st, 0)) || !(extra = int_array(extra_o, &ne, st, 1)) ||
        !(rules = int_array(rules_o, &nr, st, 1))) goto done;
    if (ni != nr) { PyErr_SetString(PyExc_ValueError, "rules and indices differ"); goto done; }
    for (Py_ssize_t k = 0; k < nr; k++) {
        if (idx[k] < 0 || idx[k] >= st->nv || (k && idx[k] <= idx[k - 1])) {
            PyErr_SetString(PyExc_ValueError, "indices must increase within the verdicts");
            goto done;
        }
    }
    items = malloc(sizeof(int32_t) * (nr + 1));
    roots = malloc(sizeof(int32_t) * (2 * nr + ne + 2));
    flags = PyBytes_FromStringAndSize(NULL, nr);
    if (!items || !roots || !flags) { if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
    int64_t floor_ = 0, pfloor = 0, len = nr, made_at = -1;
    for (Py_ssize_t k = 0; k < nr; k++) {
        memo_next(&st->memo);
        items[k] = tmap_rec(st, MAP_SINGLE, rules[k], idx[k], NULL);
        if (items[k] == ERRV) { raise_err(st); goto done; }
        /* from here on the single-rule block stands for the rule (dead() reads either
           form): the boolean diagram is garbage at the next compaction, so compactions
           neither mark nor slide a second copy of every rule */
        rules[k] = items[k];
    }
    while (len > 1) {
        /* an ARITY-ary tree, full at the top: ng groups of consecutive blocks, ng the largest
           power of ARITY below len (group sizes differ by at most one, <= ARITY). The last
           passes then compose ARITY blocks each (the costly ones: their blocks cover many
           rules) and the smaller groups go to the bottom pass, where blocks are single rules:
           100k rules make passes of 32768, 4096, ..., 8, 1 groups instead of 12500, 1563,
           196, 25, 4, 1. */
        int64_t ng = 1, half = 0;
        while (ng * ARITY < len) ng *= ARITY;
        for (int64_t gi = 0; gi < ng; gi++) {
            int64_t k = gi * len / ng, end = (gi + 1) * len / ng;  /* this group: [k, end) */
            int32_t g[ARITY];
            for (int q = 0; q < ARITY; q++) g[q] = k + q < end ? items[k + q] : T_UND;
            memo_next(&st->memo);
            int32_t r = composek_rec(st, g);
            if (r == ERRV) { raise_err(st); goto done; }
            items[half++] = r;
            int64_t lim = factor * floor_ > minimum ? factor * floor_ : minimum;
            int64_t plim = factor * pfloor > 8 * minimum ? factor * pfloor : 8 * minimum;
            if (st->nd.n >= lim || st->nd.pn >= plim) {
                /* live: the new items, the old ones not combined yet, rules, extra */
                int64_t m = 0;
                for (int64_t q = 0; q < half; q++) roots[m++] = items[q];
                for (int64_t q = end; q < len; q++) roots[m++] = items[q];
                for (Py_ssize_t q = 0; q < nr; q++) roots[m++] = rules[q];
                for (Py_ssize_t q = 0; q < ne; q++) roots[m++] = extra[q];
                if (compact(st, roots, m, 1) < 0) { raise_err(st); goto done; }
                m = 0;
                for (int64_t q = 0; q < half; q++) items[q] = roots[m++];
                for (int64_t q = end; q < len; q++) items[q] = roots[m++];
                for (Py_ssize_t q = 0; q < nr; q++) rules[q] = roots[m++];
                for (Py_ssize_t q = 0; q < ne; q++) extra[q] = roots[m++];
                floor_ = st->nd.n;
                pfloor = st->nd.pn;
                made_at = st->made;
            }
        }
        len = half;
    }
    int32_t c2 = nr ? items[0] : T_UND;
    {
        int64_t nf = idx && nr ? idx[nr - 1] + 1 : 0;
        uint8_t *byf = calloc(nf ? nf : 1, 1);
        seen = calloc(st->nd.n ? st->nd.n : 1, 1);
        if (!byf || !seen) { free(byf); PyErr_NoMemory(); goto done; }
        collect_rec(st, c2, seen, byf, nf);
        for (Py_ssize_t k = 0; k < nr; k++) PyBytes_AS_STRING(flags)[k] = (char)byf[idx[k]];
        free(byf);
    }
    int32_t c = c2;  /* the two-level diagram: first() maps it to the classification */
    {
        int64_t m = 0;
        for (Py_ssize_t q = 0; q < nr; q++) roots[m++] = rules[q];
        for (Py_ssize_t q = 0; q < ne; q++) roots[m++] = extra[q];
        roots[m++] = c;
        /* nothing made since the last compaction above (it ran after the root's own group,
           or kept a superset of these roots: garbage at worst, for shrink() to drop): skip
           a pass that would find everything live */
        if (st->made == made_at) give_back(&st->nd);
        else if (compact(st, roots, m, 0) < 0) { raise_err(st); goto done; }
        c = roots[m - 1];
    }
    {
        PyObject *rl = int_list(roots, nr), *el = int_list(roots + nr, ne);
        if (rl && el) out = Py_BuildValue("(iONN)", c, flags, rl, el);
        else { Py_XDECREF(rl); Py_XDECREF(el); }
    }
done:
    memo_shrink(&st->memo);
    free(st->cmap);  /* kept between the compactions above (the last one freed it) */
    st->cmap = NULL;
    st->cmapcap = 0;
    Py_XDECREF(flags);
    free(rules); free(idx); free(extra); free(items); free(roots); free(seen);
    return out;
}

/* first(c2) -> node: classify()'s diagram with (f, v) -> rule_leaf(f): the classification. */
static PyObject *Store_first(Store *st, PyObject *args) {
    READY(st);
    int c2;
    if (!PyArg_ParseTuple(args, "i", &c2)) return NULL;
    if (c2 >= st->nd.n) { PyErr_SetString(PyExc_ValueError, "bad node"); return NULL; }
    memo_next(&st->memo);
    int32_t c = tmap_all(st, MAP_FIRST, c2, 0);
    memo_shrink(&st->memo);
    if (c == ERRV) return raise_err(st);
    return PyLong_FromLong(c);
}

/* permitted(c2, canonical) -> node: c2's terminals mapped by the verdicts, AND canonical. */
static PyObject *Store_permitted(Store *st, PyObject *args) {
    READY(st);
    int c, canon;
    if (!PyArg_ParseTuple(args, "ii", &c, &canon)) return NULL;
    if (c >= st->nd.n || canon >= st->nd.n) { PyErr_SetString(PyExc_ValueError, "bad node"); return NULL; }
    memo_next(&st->memo);
    int32_t p = tmap_all(st, MAP_PERMIT, c, 0);
    if (p == ERRV) return raise_err(st);
    memo_next(&st->memo);
    p = apply_rec(st, OP_AND, p, canon);
    memo_shrink(&st->memo);
    if (p == ERRV) return raise_err(st);
    return PyLong_FromLong(p);
}

/* apply(op, a, b) with op 0 and, 1 or, 2 diff, 3 xor (boolean diagrams). */
static PyObject *Store_apply(Store *st, PyObject *args) {
    READY(st);
    int op, a, b;
    if (!PyArg_ParseTuple(args, "iii", &op, &a, &b)) return NULL;
    if (op < 0 || op > 3 || a >= st->nd.n || b >= st->nd.n || a < -2 || b < -2) {
        PyErr_SetString(PyExc_ValueError, "bad apply operands"); return NULL;
    }
    memo_next(&st->memo);
    int32_t r = apply_rec(st, op, a, b);
    if (r == ERRV) return raise_err(st);
    return PyLong_FromLong(r);
}

/* dead(c2, rules, bits) -> bytes: 1 where some point of rules[i] (a rule diagram or its
   single-rule block from classify()) has, in classify()'s diagram c2, a first rule of
   another verdict than bits[i] (shadowed), else 0 (redundant). */
static PyObject *Store_dead(Store *st, PyObject *args) {
    READY(st);
    int c;
    PyObject *rules_o;
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "iOy*", &c, &rules_o, &b)) return NULL;
    Py_ssize_t nr;
    int32_t *rules = int_array(rules_o, &nr, st, 1);
    PyObject *out = NULL;
    if (!rules) goto done;
    if (nr != b.len || c >= st->nd.n) { PyErr_SetString(PyExc_ValueError, "bad dead() input"); goto done; }
    out = PyBytes_FromStringAndSize(NULL, nr);
    if (!out) goto done;
    for (Py_ssize_t i = 0; i < nr; i++) {
        memo_next(&st->memo);
        int got = other_rec(st, c, rules[i], ((uint8_t *)b.buf)[i] == 1 ? 1 : 2);
        if (got < 0) { Py_CLEAR(out); raise_err(st); goto done; }
        PyBytes_AS_STRING(out)[i] = (char)got;
    }
done:
    memo_shrink(&st->memo);
    free(rules);
    PyBuffer_Release(&b);
    return out;
}

/* ---------------------------------------------------------------- boxes (mdd.Universe.box) */

typedef struct { uint64_t hi, lo; } U128;
typedef struct { U128 lo, hi; } Iv;

static U128 u_shr(U128 v, int s) {
    U128 r;
    if (s <= 0) return v;
    if (s >= 128) { r.hi = r.lo = 0; return r; }
    if (s >= 64) { r.lo = v.hi >> (s - 64); r.hi = 0; return r; }
    r.lo = (v.lo >> s) | (v.hi << (64 - s));
    r.hi = v.hi >> s;
    return r;
}

static U128 u_low(U128 v, int s) { /* v mod 2**s */
    if (s >= 128) return v;
    if (s >= 64) { if (s > 64) v.hi &= (((uint64_t)1 << (s - 64)) - 1); else v.hi = 0; return v; }
    v.hi = 0;
    v.lo = s ? (v.lo & (((uint64_t)1 << s) - 1)) : 0;
    return v;
}

static U128 u_ones(int s) { /* 2**s - 1 */
    U128 r = {0, 0};
    if (s >= 128) { r.hi = r.lo = ~(uint64_t)0; }
    else if (s >= 64) { r.lo = ~(uint64_t)0; r.hi = s > 64 ? (((uint64_t)1 << (s - 64)) - 1) : 0; }
    else { r.lo = s ? (((uint64_t)1 << s) - 1) : 0; }
    return r;
}

static int u_cmp(U128 a, U128 b) {
    if (a.hi != b.hi) return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo) return a.lo < b.lo ? -1 : 1;
    return 0;
}

static int u_is0(U128 a) { return !a.hi && !a.lo; }

typedef struct { int32_t level, width, shift; } Dig;

/* _digits_node: `inside` where the value (digits dg[idx..]) lies in ivs[0..n), else FALSE.
   ivs are sorted, disjoint, within the remaining bits. */
static int32_t digits_node(Store *st, const Dig *dg, int nd, int idx, const Iv *ivs, int n,
                           int32_t inside) {
    if (n == 0 || inside == T_FALSE) return T_FALSE;
    if (idx == nd) return inside;
    int32_t level = dg[idx].level, width = dg[idx].width, shift = dg[idx].shift;
    if (n == 1 && u_is0(ivs[0].lo) && u_cmp(ivs[0].hi, u_ones(width + shift)) >= 0) return inside;
    /* segments: [d0, d1] with sub-intervals (sub_n > 0) or whole digits (sub_n == 0) */
    int cap = 3 * n + 1;
    int32_t d0_s[3 * 25];
    int sub_s[2 * 25];
    Iv subs_s[17];
    int heap = cap > 25;  /* a few intervals (the common case) need no allocation */
    int32_t *d0 = heap ? malloc(sizeof(int32_t) * cap * 3) : d0_s;
    int *sub_at = heap ? malloc(sizeof(int) * cap * 2) : sub_s;
    Iv *subs = heap ? malloc(sizeof(Iv) * (2 * n + 1)) : subs_s;
    if (!d0 || !sub_at || !subs) {
        if (heap) { free(d0); free(sub_at); free(subs); }
        st->err = 1;
        return ERRV;
    }
    int32_t *d1 = d0 + cap, *kid = d0 + 2 * cap;
    int *sub_n = sub_at + cap;
    int ns = 0, nsub = 0;
    U128 mask = u_ones(shift);
#define ADD_SEG(a, b, lo_, hi_, whole) do { \
        if (!(whole) && ns && d0[ns - 1] == (a) && d1[ns - 1] == (a) && (a) == (b) && sub_n[ns - 1] > 0) { \
            subs[nsub].lo = (lo_); subs[nsub].hi = (hi_); nsub++; sub_n[ns - 1]++; \
        } else { \
            d0[ns] = (a); d1[ns] = (b); sub_at[ns] = nsub; sub_n[ns] = 0; \
            if (!(whole)) { subs[nsub].lo = (lo_); subs[nsub].hi = (hi_); nsub++; sub_n[ns] = 1; } \
            ns++; \
        } } while (0)
    for (int i = 0; i < n; i++) {
        int32_t dlo = (int32_t)u_shr(ivs[i].lo, shift).lo, dhi = (int32_t)u_shr(ivs[i].hi, shift).lo;
        U128 llo = u_low(ivs[i].lo, shift), lhi = u_low(ivs[i].hi, shift);
        U128 zero = {0, 0};
        if (dlo == dhi) {
            int whole = u_is0(llo) && u_cmp(lhi, mask) == 0;
            ADD_SEG(dlo, dlo, llo, lhi, whole);
            continue;
        }
        ADD_SEG(dlo, dlo, llo, mask, u_is0(llo));
        if (dhi > dlo + 1) ADD_SEG(dlo + 1, dhi - 1, zero, zero, 1);
        ADD_SEG(dhi, dhi, zero, lhi, u_cmp(lhi, mask) == 0);
    }
#undef ADD_SEG
    for (int i = 0; i < ns; i++) {
        kid[i] = sub_n[i] == 0 ? inside
                               : digits_node(st, dg, nd, idx + 1, subs + sub_at[i], sub_n[i], inside);
        if (kid[i] == ERRV) {
            if (heap) { free(d0); free(sub_at); free(subs); }
            return ERRV;
        }
    }
    int32_t *ob = st->sb[level], *ok = st->sk[level];
    int32_t cnt = 0, cur = 0, top = (int32_t)((1u << width) - 1);
    for (int i = 0; i < ns; i++) {
        if (d0[i] > cur) {
            if (cnt) ob[cnt - 1] = cur;
            ok[cnt++] = T_FALSE;
        }
        if (cnt) ob[cnt - 1] = d0[i];
        ok[cnt++] = kid[i];
        cur = d1[i] + 1;
    }
    if (cur <= top) {
        ob[cnt - 1] = cur;
        ok[cnt++] = T_FALSE;
    }
    if (heap) { free(d0); free(sub_at); free(subs); }
    return mk(st, level, ob, ok, cnt);
}

/* The digits of field f for family fi (0: v4, 1: v6), top first. */
static int field_digits(Store *st, int f, int fi, Dig *out) {
    int nd = 0;
    for (int32_t l = 0; l < st->depth; l++) {
        if (st->fld[l] == f && st->wid[fi][l] > 0) {
            out[nd].level = l; out[nd].width = st->wid[fi][l]; out[nd].shift = st->sft[fi][l];
            nd++;
        }
    }
    return nd;
}

/* field_node: `inside` where field f lies in the ranges (a sequence of (lo, hi)). */
static int32_t field_node(Store *st, int f, int fi, PyObject *ranges, int32_t inside) {
    PyObject *fast = PySequence_Fast(ranges, "ranges must be a sequence");
    if (!fast) { st->err = 3; return ERRV; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Dig *dg = malloc(sizeof(Dig) * (st->depth + 1));
    Iv *ivs = malloc(sizeof(Iv) * (n ? n : 1));
    int32_t r = ERRV;
    if (!dg || !ivs) { st->err = 1; goto out; }
    int nd = field_digits(st, f, fi, dg);
    int bits = 0;
    for (int i = 0; i < nd; i++) bits += dg[i].width;
    U128 top = u_ones(bits);
    int k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *lo_o, *hi_o;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "OO", &lo_o, &hi_o)) { st->err = 3; goto out; }
        U128 lo, hi;
        if (u128_of(lo_o, &lo.hi, &lo.lo) < 0 || u128_of(hi_o, &hi.hi, &hi.lo) < 0) { st->err = 3; goto out; }
        if (u_cmp(lo, hi) > 0 || (k && u_cmp(lo, ivs[k - 1].hi) <= 0)) {
            PyErr_SetString(PyExc_ValueError, "ranges must be sorted and disjoint");
            st->err = 3; goto out;
        }
        if (u_cmp(lo, top) > 0) continue;
        ivs[k].lo = lo;
        ivs[k].hi = u_cmp(hi, top) > 0 ? top : hi;
        k++;
    }
    r = digits_node(st, dg, nd, 0, ivs, k, inside);
out:
    free(dg); free(ivs);
    Py_DECREF(fast);
    return r;
}

/* box(family, cons): family 0 (both), 4 or 6; cons: 8 entries in mdd.FIELDS order, None or
   ranges (entry 0, the version, is ignored). Fields are built bottom-up by level order. */
static int32_t box_node(Store *st, int family, PyObject *cons) {
    PyObject *fast = PySequence_Fast(cons, "constraints must be a sequence");
    if (!fast) { st->err = 3; return ERRV; }
    if (PySequence_Fast_GET_SIZE(fast) != NFIELDS || (family != 0 && family != 4 && family != 6)) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "bad box");
        st->err = 3;
        return ERRV;
    }
    int fi = family == 6 ? 1 : 0;
    int order[NFIELDS], no = 0;
    for (int32_t l = 0; l < st->depth; l++) {
        int f = st->fld[l], seen = 0;
        for (int i = 0; i < no; i++) seen |= order[i] == f;
        if (!seen) order[no++] = f;
    }
    int32_t node = T_TRUE;
    for (int i = no - 1; i >= 0 && node != ERRV; i--) {
        int f = order[i];
        PyObject *rs = PySequence_Fast_GET_ITEM(fast, f);
        if (f == 0 || rs == Py_None) continue;
        node = field_node(st, f, fi, rs, node);
    }
    Py_DECREF(fast);
    if (node == ERRV || family == 0) return node;
    PyObject *v = Py_BuildValue("((ii))", fi, fi);
    if (!v) { st->err = 3; return ERRV; }
    node = field_node(st, 0, fi, v, node);
    Py_DECREF(v);
    return node;
}

static int32_t union_boxes(Store *st, PyObject *specs) {
    PyObject *fast = PySequence_Fast(specs, "expected a sequence of boxes");
    if (!fast) { st->err = 3; return ERRV; }
    int32_t acc = T_FALSE;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast) && acc != ERRV; i++) {
        int family;
        PyObject *cons;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "iO", &family, &cons)) {
            st->err = 3; break;
        }
        int32_t b = box_node(st, family, cons);
        if (b == ERRV) { acc = ERRV; break; }
        memo_next(&st->memo);
        acc = apply_rec(st, OP_OR, acc, b);
    }
    Py_DECREF(fast);
    return st->err ? ERRV : acc;
}

/* rules(specs, canonical) -> ids: per rule (matches, excludes), each a list of boxes
   (family, cons); the rule is (OR matches - OR excludes) AND canonical (canonical -1: none). */
static PyObject *Store_rules(Store *st, PyObject *args) {
    READY(st);
    PyObject *specs;
    int canon;
    if (!PyArg_ParseTuple(args, "Oi", &specs, &canon)) return NULL;
    if (canon >= st->nd.n || canon < -2) { PyErr_SetString(PyExc_ValueError, "bad canonical"); return NULL; }
    PyObject *fast = PySequence_Fast(specs, "expected a sequence of rules");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *ms, *xs;
        int32_t r = ERRV;
        if (PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "OO", &ms, &xs)) {
            r = union_boxes(st, ms);
            if (r != ERRV && r != T_FALSE) {
                int32_t x = union_boxes(st, xs);
                memo_next(&st->memo);
                r = x == ERRV ? ERRV : apply_rec(st, OP_DIFF, r, x);
            }
            if (r != ERRV && r != T_FALSE && canon != -1) {
                memo_next(&st->memo);
                r = apply_rec(st, OP_AND, r, canon);
            }
        } else {
            st->err = 3;
        }
        PyObject *v = r == ERRV ? NULL : PyLong_FromLong(r);
        if (!v) {
            Py_CLEAR(out);
            if (st->err || !PyErr_Occurred()) { st->err = st->err ? st->err : 2; raise_err(st); }
            break;
        }
        PyList_SET_ITEM(out, i, v);
    }
    memo_shrink(&st->memo);
    Py_DECREF(fast);
    return out;
}

/* compact(roots) -> roots': keep only what roots reach (ids renumbered). */
static PyObject *Store_compact(Store *st, PyObject *args) {
    READY(st);
    PyObject *roots_o;
    if (!PyArg_ParseTuple(args, "O", &roots_o)) return NULL;
    Py_ssize_t n;
    int32_t *rs = int_array(roots_o, &n, st, 1);
    if (!rs) return NULL;
    PyObject *out = compact(st, rs, n, 0) < 0 ? raise_err(st) : int_list(rs, n);
    free(rs);
    return out;
}

/* A non-negative int as (hi, lo); values >= 2**128 saturate to all ones. */
static int u128_of(PyObject *v, uint64_t *hi, uint64_t *lo) {
    if (!PyLong_Check(v)) { PyErr_SetString(PyExc_TypeError, "expected an int"); return -1; }
    int overflow = 0;
    long long s = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (s == -1 && PyErr_Occurred()) return -1;
    if (overflow < 0 || (!overflow && s < 0)) {
        PyErr_SetString(PyExc_ValueError, "negative value");
        return -1;
    }
    if (!overflow) { *hi = 0; *lo = (uint64_t)s; return 0; }
    *lo = PyLong_AsUnsignedLongLongMask(v);
    if (*lo == (uint64_t)-1 && PyErr_Occurred()) return -1;
    PyObject *sh = PyLong_FromLong(64);
    PyObject *h = sh ? PyNumber_Rshift(v, sh) : NULL;
    Py_XDECREF(sh);
    if (!h) return -1;
    *hi = PyLong_AsUnsignedLongLong(h);
    Py_DECREF(h);
    if (*hi == (uint64_t)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
        PyErr_Clear();
        *hi = *lo = ~(uint64_t)0;
    }
    return 0;
}

static const char *FIELD_ATTR[NFIELDS] = {"version", "proto", "dport", "sport", "icmp_type",
                                          "icmp_code", "dst", "src"};

/* lookup_many(root, packets) -> the terminal of classify()'s diagram root for each packet,
   as rule_leaf(f) or UNDECIDED (fields beyond a level's digit are masked: callers pass
   packets that fit the universe). */
static PyObject *Store_lookup_many(Store *st, PyObject *args) {
    READY(st);
    int root;
    PyObject *pk;
    if (!PyArg_ParseTuple(args, "iO", &root, &pk)) return NULL;
    if (root >= st->nd.n) { PyErr_SetString(PyExc_ValueError, "bad root"); return NULL; }
    PyObject *fast = PySequence_Fast(pk, "packets must be a sequence");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    PyObject *names[NFIELDS] = {0};
    for (int f = 0; f < NFIELDS && out; f++) {
        names[f] = PyUnicode_InternFromString(FIELD_ATTR[f]);
        if (!names[f]) Py_CLEAR(out);
    }
    Nodes *N = &st->nd;
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *p = PySequence_Fast_GET_ITEM(fast, i);
        uint64_t hi[NFIELDS], lo[NFIELDS];
        int ok = 1;
        for (int f = 0; f < NFIELDS && ok; f++) {
            PyObject *v = PyObject_GetAttr(p, names[f]);
            if (!v || u128_of(v, &hi[f], &lo[f]) < 0) ok = 0;
            Py_XDECREF(v);
        }
        if (!ok) { Py_CLEAR(out); break; }
        int fam = lo[0] == 6 ? 1 : 0;
        lo[0] = fam;
        int32_t x = root;
        while (x >= 0) {
            int32_t lv = LEVEL(N, x), f = st->fld[lv];
            int32_t w = st->wid[fam][lv], s = st->sft[fam][lv];
            uint64_t d;
            if (w == 0) d = 0;
            else if (s >= 64) d = hi[f] >> (s - 64);
            else if (s + w <= 64) d = lo[f] >> s;
            else d = (lo[f] >> s) | (hi[f] << (64 - s));
            d &= ((uint64_t)1 << w) - 1;
            int32_t nk = NK(N, x);
            x = KID(N, x, bisect_right(BRKS(N, x), nk - 1, (int32_t)d));
        }
        if (x <= -4) x = -4 - ENC_F(x);  /* (f, v) -> rule_leaf(f) */
        PyObject *v = PyLong_FromLong(x);
        if (!v) { Py_CLEAR(out); break; }
        PyList_SET_ITEM(out, i, v);
    }
    for (int f = 0; f < NFIELDS; f++) Py_XDECREF(names[f]);
    Py_DECREF(fast);
    return out;
}

static PyObject *Store_count(Store *st, PyObject *args) {
    READY(st);
    int root;
    if (!PyArg_ParseTuple(args, "i", &root)) return NULL;
    if (root >= st->nd.n) { PyErr_SetString(PyExc_ValueError, "bad root"); return NULL; }
    uint8_t *seen = calloc(st->nd.n ? st->nd.n : 1, 1);
    if (!seen) return PyErr_NoMemory();
    int64_t c = count_nodes(st, root, seen);
    free(seen);
    return PyLong_FromLongLong(c);
}

static Py_ssize_t Store_len(Store *st) { return (Py_ssize_t)st->nd.n; }

static PyObject *Store_made(Store *st, PyObject *unused) {
    (void)unused;
    return PyLong_FromLongLong(st->made);
}

/* stats() -> (nodes, pool ints used, pool capacity, node capacity, unique slots, memo slots) */
static PyObject *Store_stats(Store *st, PyObject *unused) {
    (void)unused;
    READY(st);
    Nodes *N = &st->nd;
    return Py_BuildValue("(LLLLKK)", (long long)N->n, (long long)N->pn, (long long)N->pcap,
                         (long long)N->cap, (unsigned long long)N->hcap,
                         (unsigned long long)st->memo.cap);
}

static PyObject *Store_nbytes(Store *st, PyObject *unused) {
    (void)unused;
    READY(st);
    Nodes *N = &st->nd;
    int64_t b = N->cap * 4 + N->pcap * 4 + (int64_t)N->hcap * 8 +
                (int64_t)st->memo.cap * (int64_t)sizeof(MEnt);
    return PyLong_FromLongLong(b);
}

/* ================================================================ Python-store operations
 * Added by the reach/findings performance pass as one self-contained block (nothing above is
 * changed; the entries are the last block of Store_methods). Static methods that work
 * directly on a Python mdd.Store -- its level/breaks/kids/und lists and unique dict -- for
 * the set operations the reach matrix and the findings run in the shared Python universe:
 *
 * - py_apply(op, levels, breaks, kids, und, unique, depth, a, b) -> node: mdd.Universe.apply
 *   for op 0 AND, 1 OR, 2 DIFF, step for step: the same terminal rules, recursion order,
 *   sparse splices (mdd.splice) and memo, so it creates the same nodes in the same order --
 *   the same ids -- as the pure-Python apply would; a new node is appended to the lists and
 *   the unique dict exactly as mdd.Store.mk_reduced appends it (und None).
 * - py_select(levels, breaks, kids, und, unique, depth, c, m, leaf) -> node: passes.select
 *   (a rule's effective set), built like py_apply: same nodes, same order.
 * - py_leaves_within(levels, breaks, kids, depth, c, m, stops) -> set: passes.leaves_within,
 *   the same walk in the same order (so the same early return on a terminal of stops).
 * - py_groups(levels, breaks, kids, depth, digits, node) -> list: packetset._groups, one
 *   field's values read as (ranges, node below) groups (to_matches' inner loop).
 * - py_rows(levels, breaks, kids, depth, spec, roots) -> list: packetset._Rows.below from the
 *   first field below the protocol, for one family and protocol class (to_matches' rows).
 *
 * Input is checked as it is read: node ids within the lists, levels in 0..depth-1 and
 * strictly below the parent's (so no cycle, and the recursion is at most depth deep),
 * breaks/kids tuples of ints with len(breaks) == len(kids) - 1 >= 1, splice output within
 * its bound; AND/OR/DIFF of two terminals they do not define (rule leaves) and a boolean
 * operand that is another terminal are ValueErrors. Malformed input raises, never crashes.
 * Complexity: as the Python versions (memoised over operand pairs; leaves_within visits each
 * (c, m) pair once), at C speed per visited pair; a new node costs what mk_reduced costs (two
 * tuples and a dict probe). No state outlives a call. */

#define PO_NONE INT64_MAX
#define PO_ERR INT64_MIN

typedef struct { int64_t a, b, r; } PMEnt; /* empty slot: a == PO_ERR */

typedef struct {
    PMEnt *t;
    uint64_t cap, used;
} PMemo;

typedef struct {
    PyObject *lv, *br, *kd, *und, *uq; /* the Python store (borrowed) */
    int32_t depth;
    int op;          /* 0 AND, 1 OR, 2 DIFF, 3 select(leaf) */
    int64_t leaf;    /* op 3: the terminal selected */
    PMemo memo;
    PyObject **lvo; /* level -> int object (owned) */
} PyOp;

typedef struct {
    int32_t level;
    Py_ssize_t nk;
    int64_t *b; /* nk - 1 breaks, then nk kids (one allocation) */
    int64_t *k;
} PNode;

static int pmemo_init(PMemo *M, uint64_t cap) {
    M->t = malloc(sizeof(PMEnt) * cap);
    if (!M->t) return -1;
    for (uint64_t i = 0; i < cap; i++) M->t[i].a = PO_ERR;
    M->cap = cap;
    M->used = 0;
    return 0;
}

static inline uint64_t pmemo_hash(int64_t a, int64_t b) {
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)b + 0x632BE59BD9B4E019ULL);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 29);
}

/* The slot of (a, b): its entry, or the empty slot where it would go. */
static PMEnt *pmemo_slot(PMemo *M, int64_t a, int64_t b) {
    uint64_t mask = M->cap - 1, i = pmemo_hash(a, b) & mask;
    while (M->t[i].a != PO_ERR && (M->t[i].a != a || M->t[i].b != b)) i = (i + 1) & mask;
    return &M->t[i];
}

static int pmemo_put(PMemo *M, int64_t a, int64_t b, int64_t r) {
    if (2 * (M->used + 1) > M->cap) {
        PMemo bigger;
        if (pmemo_init(&bigger, M->cap * 2) < 0) return -1;
        for (uint64_t i = 0; i < M->cap; i++)
            if (M->t[i].a != PO_ERR) *pmemo_slot(&bigger, M->t[i].a, M->t[i].b) = M->t[i];
        bigger.used = M->used;
        free(M->t);
        *M = bigger;
    }
    PMEnt *e = pmemo_slot(M, a, b);
    if (e->a == PO_ERR) M->used++;
    e->a = a; e->b = b; e->r = r;
    return 0;
}

static int po_bad(const char *what) {
    PyErr_SetString(PyExc_ValueError, what);
    return -1;
}

/* Read node x of the Python store (its level must lie in floor+1 .. depth-1). */
static int po_read(PyObject *lvl, PyObject *brl, PyObject *kdl, int32_t depth, int64_t x,
                   int32_t floor, PNode *o) {
    if (x < 0 || x >= PyList_GET_SIZE(lvl) || x >= PyList_GET_SIZE(brl) ||
        x >= PyList_GET_SIZE(kdl)) return po_bad("_mddc: node id out of range");
    PyObject *lo = PyList_GET_ITEM(lvl, x), *bt = PyList_GET_ITEM(brl, x),
             *kt = PyList_GET_ITEM(kdl, x);
    if (!PyLong_Check(lo) || !PyTuple_Check(bt) || !PyTuple_Check(kt))
        return po_bad("_mddc: malformed node");
    long lv = PyLong_AsLong(lo);
    if (lv == -1 && PyErr_Occurred()) return -1;
    if (lv <= floor || lv >= depth) return po_bad("_mddc: node level out of order");
    Py_ssize_t nk = PyTuple_GET_SIZE(kt);
    if (nk < 2 || PyTuple_GET_SIZE(bt) != nk - 1) return po_bad("_mddc: malformed node");
    o->b = malloc(sizeof(int64_t) * (size_t)(2 * nk - 1));
    if (!o->b) { PyErr_NoMemory(); return -1; }
    o->k = o->b + nk - 1;
    o->level = (int32_t)lv;
    o->nk = nk;
    for (Py_ssize_t i = 0; i < nk; i++) {
        PyObject *v = PyTuple_GET_ITEM(kt, i);
        long long k = PyLong_Check(v) ? PyLong_AsLongLong(v) : (PyErr_SetString(
            PyExc_TypeError, "_mddc: kids must be ints"), -1);
        if (k == -1 && PyErr_Occurred()) { free(o->b); o->b = NULL; return -1; }
        if (k <= PO_ERR + 1 || k >= PO_NONE) { free(o->b); o->b = NULL; return po_bad("_mddc: kid out of range"); }
        o->k[i] = k;
    }
    for (Py_ssize_t i = 0; i + 1 < nk; i++) {
        PyObject *v = PyTuple_GET_ITEM(bt, i);
        long long b = PyLong_Check(v) ? PyLong_AsLongLong(v) : (PyErr_SetString(
            PyExc_TypeError, "_mddc: breaks must be ints"), -1);
        if (b == -1 && PyErr_Occurred()) { free(o->b); o->b = NULL; return -1; }
        o->b[i] = b;
    }
    return 0;
}

static inline Py_ssize_t bisect_right64(const int64_t *a, Py_ssize_t n, int64_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) { Py_ssize_t mid = (lo + hi) / 2; if (v < a[mid]) hi = mid; else lo = mid + 1; }
    return lo;
}

static inline Py_ssize_t bisect_left64(const int64_t *a, Py_ssize_t n, int64_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) { Py_ssize_t mid = (lo + hi) / 2; if (a[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
}

/* mdd.Store.mk_reduced on the Python store. */
static int64_t po_mk_reduced(PyOp *P, int32_t level, const int64_t *br, const int64_t *kd,
                             Py_ssize_t n) {
    if (n == 1) return kd[0];
    PyObject *bt = PyTuple_New(n - 1), *kt = PyTuple_New(n), *key = NULL, *ido = NULL;
    int64_t r = PO_ERR;
    if (!bt || !kt) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLongLong(kd[i]);
        if (!v) goto done;
        PyTuple_SET_ITEM(kt, i, v);
    }
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        PyObject *v = PyLong_FromLongLong(br[i]);
        if (!v) goto done;
        PyTuple_SET_ITEM(bt, i, v);
    }
    key = PyTuple_Pack(3, P->lvo[level], bt, kt);
    if (!key) goto done;
    PyObject *got = PyDict_GetItemWithError(P->uq, key);
    if (got) {
        long long v = PyLong_AsLongLong(got);
        if (!(v == -1 && PyErr_Occurred())) r = v;
    } else if (!PyErr_Occurred()) {
        Py_ssize_t id = PyList_GET_SIZE(P->lv);
        ido = PyLong_FromSsize_t(id);
        if (ido && PyList_Append(P->lv, P->lvo[level]) == 0 && PyList_Append(P->br, bt) == 0 &&
            PyList_Append(P->kd, kt) == 0 && PyList_Append(P->und, Py_None) == 0 &&
            PyDict_SetItem(P->uq, key, ido) == 0)
            r = id;
    }
done:
    Py_XDECREF(bt); Py_XDECREF(kt); Py_XDECREF(key); Py_XDECREF(ido);
    return r;
}

/* mdd.Store.mk: merge equal neighbours, then mk_reduced. */
static int64_t po_mk(PyOp *P, int32_t level, const int64_t *br, const int64_t *kd, Py_ssize_t n) {
    int64_t *nb = malloc(sizeof(int64_t) * (size_t)(2 * n));
    if (!nb) { PyErr_NoMemory(); return PO_ERR; }
    int64_t *nkd = nb + n;
    Py_ssize_t m = 1;
    nkd[0] = kd[0];
    for (Py_ssize_t i = 1; i < n; i++)
        if (kd[i] != nkd[m - 1]) { nb[m - 1] = br[i - 1]; nkd[m++] = kd[i]; }
    int64_t r = po_mk_reduced(P, level, nb, nkd, m);
    free(nb);
    return r;
}

static int64_t po_term(int op, int64_t a, int64_t b, int64_t leaf) {
    switch (op) {
    case 3: /* passes.select: the points of m (b) where c (a) is leaf */
        if (b == T_FALSE) return T_FALSE;
        if (a < 0) return a == leaf ? b : T_FALSE;
        return PO_NONE;
    case 0: /* mdd._and */
        if (a == T_FALSE || b == T_FALSE) return T_FALSE;
        if (a == T_TRUE || a == b) return b;
        if (b == T_TRUE) return a;
        return PO_NONE;
    case 1: /* mdd._or */
        if (a == T_TRUE || b == T_TRUE) return T_TRUE;
        if (a == T_FALSE || a == b) return b;
        if (b == T_FALSE) return a;
        return PO_NONE;
    default: /* mdd._diff */
        if (a == T_FALSE || a == b || b == T_TRUE) return T_FALSE;
        if (b == T_FALSE) return a;
        if (a == T_TRUE && b < 0) return T_FALSE;
        return PO_NONE;
    }
}

/* mdd._SPARSE: (identity, const_in, const_out) when the narrow operand is a [0] / b [1]. */
static const int64_t PO_SPARSE[4][2][3] = {
    {{T_TRUE, T_FALSE, T_FALSE}, {T_TRUE, T_FALSE, T_FALSE}},
    {{T_FALSE, T_TRUE, T_TRUE}, {T_FALSE, T_TRUE, T_TRUE}},
    {{PO_NONE, T_FALSE, T_FALSE}, {T_FALSE, T_TRUE, T_FALSE}},
    {{PO_NONE, PO_NONE, PO_NONE}, {PO_NONE, T_FALSE, T_FALSE}}, /* select: m (b) is always narrow */
};

static int64_t po_rec(PyOp *P, int64_t a, int64_t b, int32_t floor);

/* mdd.splice of partition C with the narrow partition M at level lv, then mk_reduced; kids
   of C and M combine as rec(c, m) (rec(m, c) when swapped: M is the a operand). */
static int64_t po_splice(PyOp *P, int32_t lv, const PNode *C, const PNode *M, const int64_t *sp,
                         int swapped) {
    Py_ssize_t nc = C->nk, nm = M->nk, nbc = nc - 1, cap = nc + nm, no = 0, nb = 0;
    int64_t *ob = malloc(sizeof(int64_t) * (size_t)(2 * cap));
    if (!ob) { PyErr_NoMemory(); return PO_ERR; }
    int64_t *ok = ob + cap, r = PO_ERR;
    const int64_t ident = sp[0], cin = sp[1], cout = sp[2];
#define PO_PUSH(lo_, v_) do { int64_t v__ = (v_); \
        if (no == 0) ok[no++] = v__; \
        else if (ok[no - 1] != v__) { if (no >= cap) goto bad; ob[nb++] = (lo_); ok[no++] = v__; } \
    } while (0)
    for (Py_ssize_t j = 0; j < nm; j++) {
        int64_t lo = j ? M->b[j - 1] : 0, x = M->k[j];
        Py_ssize_t i = bisect_right64(C->b, nbc, lo);
        Py_ssize_t iend = j < nm - 1 ? bisect_left64(C->b, nbc, M->b[j]) + 1 : nc;
        if (x == ident) {
            PO_PUSH(lo, C->k[i]);
            if (iend > i + 1) {
                if (no + (iend - i - 1) > cap) goto bad;
                for (Py_ssize_t q = i; q < iend - 1; q++) ob[nb++] = C->b[q];
                for (Py_ssize_t q = i + 1; q < iend; q++) ok[no++] = C->k[q];
            }
        } else if (x == cin) {
            PO_PUSH(lo, cout);
        } else {
            int64_t v = swapped ? po_rec(P, x, C->k[i], lv) : po_rec(P, C->k[i], x, lv);
            if (v == PO_ERR) goto fail;
            PO_PUSH(lo, v);
            for (Py_ssize_t q = i + 1; q < iend; q++) {
                v = swapped ? po_rec(P, x, C->k[q], lv) : po_rec(P, C->k[q], x, lv);
                if (v == PO_ERR) goto fail;
                if (ok[no - 1] != v) {
                    if (no >= cap) goto bad;
                    ob[nb++] = C->b[q - 1];
                    ok[no++] = v;
                }
            }
        }
    }
#undef PO_PUSH
    r = po_mk_reduced(P, lv, ob, ok, no);
    free(ob);
    return r;
bad:
    po_bad("_mddc: breaks out of order");
fail:
    free(ob);
    return PO_ERR;
}

/* mdd.Universe.apply's rec: both operands' levels must lie below floor. */
static int64_t po_rec(PyOp *P, int64_t a, int64_t b, int32_t floor) {
    int64_t t = po_term(P->op, a, b, P->leaf);
    if (t != PO_NONE) return t;
    PMEnt *e = pmemo_slot(&P->memo, a, b);
    if (e->a != PO_ERR) return e->r;
    if (a < 0 && b < 0) { po_bad("_mddc: operation undefined on these terminals"); return PO_ERR; }
    PNode A = {LEAFLVL, 0, NULL, NULL}, B = {LEAFLVL, 0, NULL, NULL};
    int64_t r = PO_ERR;
    if (a >= 0 && po_read(P->lv, P->br, P->kd, P->depth, a, floor, &A) < 0) goto done;
    if (b >= 0 && po_read(P->lv, P->br, P->kd, P->depth, b, floor, &B) < 0) goto done;
    if (A.level != B.level) {
        const PNode *X = A.level < B.level ? &A : &B; /* the upper operand is split */
        int64_t *kd = malloc(sizeof(int64_t) * (size_t)X->nk);
        if (!kd) { PyErr_NoMemory(); goto done; }
        Py_ssize_t i = 0;
        for (; i < X->nk; i++) {
            kd[i] = X == &A ? po_rec(P, X->k[i], b, X->level) : po_rec(P, a, X->k[i], X->level);
            if (kd[i] == PO_ERR) break;
        }
        if (i == X->nk) r = po_mk(P, X->level, X->b, kd, X->nk);
        free(kd);
    } else if (B.nk <= A.nk || P->op == 3) {
        r = po_splice(P, A.level, &A, &B, PO_SPARSE[P->op][1], 0);
    } else {
        r = po_splice(P, A.level, &B, &A, PO_SPARSE[P->op][0], 1);
    }
    if (r != PO_ERR && pmemo_put(&P->memo, a, b, r) < 0) { PyErr_NoMemory(); r = PO_ERR; }
done:
    free(A.b); free(B.b);
    return r;
}

static PyObject *Store_py_apply(PyObject *unused, PyObject *args) {
    (void)unused;
    PyOp P;
    long long a, b;
    int op, depth;
    memset(&P, 0, sizeof(P));
    if (!PyArg_ParseTuple(args, "iO!O!O!O!O!iLL", &op, &PyList_Type, &P.lv, &PyList_Type,
                          &P.br, &PyList_Type, &P.kd, &PyList_Type, &P.und, &PyDict_Type, &P.uq,
                          &depth, &a, &b)) return NULL;
    P.op = op;
    P.depth = depth;
    if (P.op < 0 || P.op > 2) { po_bad("_mddc: op must be 0 (and), 1 (or) or 2 (diff)"); return NULL; }
    if (P.depth < 1 || P.depth > 4096) { po_bad("_mddc: bad depth"); return NULL; }
    if (a <= PO_ERR + 1 || b <= PO_ERR + 1 || a >= PO_NONE || b >= PO_NONE) {
        po_bad("_mddc: node id out of range");
        return NULL;
    }
    P.lvo = calloc((size_t)P.depth, sizeof(PyObject *));
    if (!P.lvo || pmemo_init(&P.memo, 1024) < 0) { free(P.lvo); return PyErr_NoMemory(); }
    int64_t r = PO_ERR;
    int32_t l = 0;
    for (; l < P.depth; l++) if (!(P.lvo[l] = PyLong_FromLong(l))) break;
    if (l == P.depth) r = po_rec(&P, a, b, -1);
    for (int32_t i = 0; i < l; i++) Py_DECREF(P.lvo[i]);
    free(P.lvo);
    free(P.memo.t);
    if (r == PO_ERR) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "_mddc: py_apply failed");
        return NULL;
    }
    return PyLong_FromLongLong(r);
}

/* py_select(levels, breaks, kids, und, unique, depth, c, m, leaf) -> node: passes.select (the
   points of the boolean diagram m where the classification c is the terminal leaf), step for
   step like the Python recursion (m is always the narrow side of a splice), so the same nodes
   in the same order. */
static PyObject *Store_py_select(PyObject *unused, PyObject *args) {
    (void)unused;
    PyOp P;
    long long c, m, leaf;
    int depth;
    memset(&P, 0, sizeof(P));
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!iLLL", &PyList_Type, &P.lv, &PyList_Type, &P.br,
                          &PyList_Type, &P.kd, &PyList_Type, &P.und, &PyDict_Type, &P.uq,
                          &depth, &c, &m, &leaf)) return NULL;
    if (depth < 1 || depth > 4096) { po_bad("_mddc: bad depth"); return NULL; }
    if (c <= PO_ERR + 1 || m <= PO_ERR + 1 || c >= PO_NONE || m >= PO_NONE || leaf >= 0 ||
        leaf <= PO_ERR + 1) {
        po_bad("_mddc: node id out of range");
        return NULL;
    }
    if (m < 0 && m != T_TRUE && m != T_FALSE) { po_bad("_mddc: m must be a boolean diagram"); return NULL; }
    P.op = 3;
    P.depth = depth;
    P.leaf = leaf;
    P.lvo = calloc((size_t)depth, sizeof(PyObject *));
    if (!P.lvo || pmemo_init(&P.memo, 1024) < 0) { free(P.lvo); return PyErr_NoMemory(); }
    int64_t r = PO_ERR;
    int32_t l = 0;
    for (; l < depth; l++) if (!(P.lvo[l] = PyLong_FromLong(l))) break;
    if (l == depth) r = po_rec(&P, c, m, -1);
    for (int32_t i = 0; i < l; i++) Py_DECREF(P.lvo[i]);
    free(P.lvo);
    free(P.memo.t);
    if (r == PO_ERR) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "_mddc: py_select failed");
        return NULL;
    }
    return PyLong_FromLongLong(r);
}

/* passes.leaves_within: a stack of (c, m) pairs, each visited once, in the Python order. */
typedef struct { int64_t c, m; } PPair;

static int pstack_push(PPair **s, Py_ssize_t *n, Py_ssize_t *cap, int64_t c, int64_t m) {
    if (*n == *cap) {
        Py_ssize_t nc = *cap * 2;
        PPair *g = realloc(*s, sizeof(PPair) * (size_t)nc);
        if (!g) { PyErr_NoMemory(); return -1; }
        *s = g;
        *cap = nc;
    }
    (*s)[(*n)++] = (PPair){c, m};
    return 0;
}

static PyObject *Store_py_leaves_within(PyObject *unused, PyObject *args) {
    (void)unused;
    PyObject *lvl, *brl, *kdl, *stop;
    int depth;
    long long c0, m0;
    if (!PyArg_ParseTuple(args, "O!O!O!iLLO", &PyList_Type, &lvl, &PyList_Type, &brl,
                          &PyList_Type, &kdl, &depth, &c0, &m0, &stop)) return NULL;
    if (depth < 1 || depth > 4096) { po_bad("_mddc: bad depth"); return NULL; }
    PyObject *stops = PySet_New(stop), *out = PySet_New(NULL);
    PMemo seen = {NULL, 0, 0};
    Py_ssize_t n = 0, cap = 256;
    PPair *todo = malloc(sizeof(PPair) * (size_t)cap);
    PNode X = {0, 0, NULL, NULL}, Y = {0, 0, NULL, NULL};
    if (!stops || !out || !todo || pmemo_init(&seen, 1024) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    todo[n++] = (PPair){c0, m0};
    while (n > 0) {
        PPair p = todo[--n];
        int64_t c = p.c, m = p.m;
        if (m == T_FALSE || pmemo_slot(&seen, c, m)->a != PO_ERR) continue;
        if (pmemo_put(&seen, c, m, 0) < 0) { PyErr_NoMemory(); goto fail; }
        if (c < 0) {
            PyObject *v = PyLong_FromLongLong(c);
            if (!v || PySet_Add(out, v) < 0) { Py_XDECREF(v); goto fail; }
            int hit = PySet_Contains(stops, v);
            Py_DECREF(v);
            if (hit < 0) goto fail;
            if (hit) break;
            continue;
        }
        if (m < 0 && m != T_TRUE) { po_bad("_mddc: m must be a boolean diagram"); goto fail; }
        if (po_read(lvl, brl, kdl, depth, c, -1, &X) < 0) goto fail;
        if (m == T_TRUE) {
            for (Py_ssize_t i = 0; i < X.nk; i++)
                if (pstack_push(&todo, &n, &cap, X.k[i], T_TRUE) < 0) goto fail;
        } else {
            if (po_read(lvl, brl, kdl, depth, m, -1, &Y) < 0) goto fail;
            if (X.level < Y.level) {
                for (Py_ssize_t i = 0; i < X.nk; i++)
                    if (pstack_push(&todo, &n, &cap, X.k[i], m) < 0) goto fail;
            } else if (Y.level < X.level) {
                for (Py_ssize_t i = 0; i < Y.nk; i++)
                    if (Y.k[i] != T_FALSE && pstack_push(&todo, &n, &cap, c, Y.k[i]) < 0) goto fail;
            } else {
                Py_ssize_t ny = Y.nk, nbx = X.nk - 1;
                for (Py_ssize_t j = 0; j < ny; j++) {
                    int64_t z = Y.k[j];
                    if (z == T_FALSE) continue;
                    Py_ssize_t i = j ? bisect_right64(X.b, nbx, Y.b[j - 1]) : 0;
                    Py_ssize_t iend = j < ny - 1 ? bisect_left64(X.b, nbx, Y.b[j]) + 1 : X.nk;
                    for (Py_ssize_t k = i; k < iend; k++)
                        if (pstack_push(&todo, &n, &cap, X.k[k], z) < 0) goto fail;
                }
            }
            free(Y.b); Y.b = NULL;
        }
        free(X.b); X.b = NULL;
    }
    free(todo); free(seen.t); Py_DECREF(stops);
    return out;
fail:
    free(X.b); free(Y.b); free(todo); free(seen.t);
    Py_XDECREF(stops); Py_XDECREF(out);
    return NULL;
}

/* py_groups(levels, breaks, kids, depth, digits, node) -> [(ranges, kid), ...]:
   packetset._groups (via _partition / _partition_walk) on a Python store: the field whose
   digits are given, read from node as maximal intervals with the node below the field, grouped
   by that node in order of first appearance, FALSE dropped, each group's intervals as a
   normalized Ranges tuple ((lo, hi), ...). digits: ((level, width, shift), ...), most
   significant first, at most 62 value bits in all (wider fields stay in Python). The walk
   enumerates each digit value of an interval whose node continues inside the field, as the
   Python walk does, so the work is the same (the output's size), at C speed. */
typedef struct { uint64_t lo, hi; int64_t k; } GIv;

typedef struct {
    PyObject *lv, *br, *kd;
    int32_t depth;
    int nd;
    int32_t dl[64], dw[64], ds[64];
    int32_t end_level;
    GIv *iv;
    Py_ssize_t n, cap;
} GWalk;

static int gw_emit(GWalk *W, uint64_t lo, uint64_t hi, int64_t k) {
    if (W->n && W->iv[W->n - 1].k == k && W->iv[W->n - 1].hi + 1 == lo) {
        W->iv[W->n - 1].hi = hi; /* _partition's merge of equal neighbours */
        return 0;
    }
    if (W->n == W->cap) {
        Py_ssize_t nc = W->cap * 2;
        GIv *g = realloc(W->iv, sizeof(GIv) * (size_t)nc);
        if (!g) { PyErr_NoMemory(); return -1; }
        W->iv = g;
        W->cap = nc;
    }
    W->iv[W->n++] = (GIv){lo, hi, k};
    return 0;
}

/* level of x (LEAFLVL for terminals), or -1 with an exception */
static int64_t gw_level(GWalk *W, int64_t x) {
    if (x < 0) return LEAFLVL;
    if (x >= PyList_GET_SIZE(W->lv) || x >= PyList_GET_SIZE(W->br) || x >= PyList_GET_SIZE(W->kd)) {
        po_bad("_mddc: node id out of range");
        return -1;
    }
    PyObject *o = PyList_GET_ITEM(W->lv, x);
    if (!PyLong_Check(o)) { po_bad("_mddc: malformed node"); return -1; }
    long l = PyLong_AsLong(o);
    if (l == -1 && PyErr_Occurred()) return -1;
    if (l < 0 || l >= W->depth) { po_bad("_mddc: node level out of range"); return -1; }
    return l;
}

static int gw_walk(GWalk *W, int64_t n, int idx, uint64_t base) {
    int64_t ln = gw_level(W, n);
    if (ln < 0) return -1;
    if (idx == W->nd || ln > W->end_level) {
        uint64_t span = idx == W->nd ? 0 : (((uint64_t)1 << (W->dw[idx] + W->ds[idx])) - 1);
        return gw_emit(W, base, base + span, n);
    }
    int32_t lv = W->dl[idx], width = W->dw[idx], shift = W->ds[idx];
    uint64_t maxd = ((uint64_t)1 << width) - 1, low = ((uint64_t)1 << shift) - 1;
    if (ln != lv) { /* this digit is skipped: every value leads to n */
        for (uint64_t d = 0; d <= maxd; d++)
            if (gw_walk(W, n, idx + 1, base | (d << shift)) < 0) return -1;
        return 0;
    }
    PyObject *bt = PyList_GET_ITEM(W->br, n), *kt = PyList_GET_ITEM(W->kd, n);
    if (!PyTuple_Check(bt) || !PyTuple_Check(kt) || PyTuple_GET_SIZE(kt) < 1 ||
        PyTuple_GET_SIZE(bt) != PyTuple_GET_SIZE(kt) - 1) { po_bad("_mddc: malformed node"); return -1; }
    Py_ssize_t nk = PyTuple_GET_SIZE(kt);
    uint64_t prev = 0;
    for (Py_ssize_t i = 0; i < nk; i++) {
        uint64_t lo = prev, hi = maxd;
        if (i + 1 < nk) {
            PyObject *bo = PyTuple_GET_ITEM(bt, i);
            long long b = PyLong_Check(bo) ? PyLong_AsLongLong(bo) : -1;
            if (b == -1 && PyErr_Occurred()) return -1;
            if (b <= (long long)prev || (uint64_t)b > maxd) { po_bad("_mddc: breaks out of order"); return -1; }
            hi = (uint64_t)b - 1;
            prev = (uint64_t)b;
        }
        PyObject *ko = PyTuple_GET_ITEM(kt, i);
        long long k = PyLong_Check(ko) ? PyLong_AsLongLong(ko) : (PyErr_SetString(
            PyExc_TypeError, "_mddc: kids must be ints"), -1);
        if (k == -1 && PyErr_Occurred()) return -1;
        int64_t lk = gw_level(W, k);
        if (lk < 0) return -1;
        if (lk <= lv) { po_bad("_mddc: node level out of order"); return -1; }
        if (idx + 1 == W->nd || lk > W->end_level) {
            if (gw_emit(W, base | (lo << shift), base | (hi << shift) | low, k) < 0) return -1;
        } else {
            for (uint64_t d = lo; d <= hi; d++)
                if (gw_walk(W, k, idx + 1, base | (d << shift)) < 0) return -1;
        }
    }
    return 0;
}

/* Parse and check digits ((level, width, shift), ...) into W (most significant first, levels
   increasing below depth, shifts tiling the field, at most 62 bits). */
static int gw_digits(GWalk *W, PyObject *digits) {
    if (!PyTuple_Check(digits)) return po_bad("_mddc: bad digits");
    Py_ssize_t nd = PyTuple_GET_SIZE(digits);
    if (nd < 1 || nd > 62) return po_bad("_mddc: bad digits");
    W->nd = (int)nd;
    int bits = 0, last = -1;
    for (Py_ssize_t i = 0; i < nd; i++) {
        int l, w, s;
        PyObject *t = PyTuple_GET_ITEM(digits, i);
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "iii", &l, &w, &s)) {
            if (!PyErr_Occurred()) po_bad("_mddc: bad digits");
            return -1;
        }
        bits += w;
        if (l <= last || l >= W->depth || w < 1 || w > 16 || s < 0 || bits > 62)
            return po_bad("_mddc: bad digits");
        last = l;
        W->dl[i] = l; W->dw[i] = w; W->ds[i] = s;
    }
    for (Py_ssize_t i = 0; i < nd; i++) /* shifts must tile the field, low digit last */
        if (W->ds[i] != (i + 1 < nd ? W->ds[i + 1] + W->dw[i + 1] : 0)) return po_bad("_mddc: bad digits");
    W->end_level = W->dl[nd - 1];
    return 0;
}

/* The groups of node's field values (W's digits set): a new list of (ranges, kid). */
static PyObject *gw_groups(GWalk *W, int64_t node) {
    if (node <= PO_ERR + 1 || node >= PO_NONE) { po_bad("_mddc: node id out of range"); return NULL; }
    W->n = 0;
    if (!W->iv) {
        W->cap = 64;
        W->iv = malloc(sizeof(GIv) * (size_t)W->cap);
        if (!W->iv) return PyErr_NoMemory();
    }
    PyObject *out = NULL, *index = NULL, *lists = NULL;
    if (gw_walk(W, node, 0, 0) < 0) goto done;
    /* group by kid, in order of first appearance (FALSE dropped); a group's intervals come
       sorted, and touching ones are joined as R.normalize joins them */
    index = PyDict_New();
    lists = PyList_New(0);
    out = PyList_New(0);
    if (!index || !lists || !out) goto fail;
    for (Py_ssize_t i = 0; i < W->n; i++) {
        GIv *g = &W->iv[i];
        if (g->k == T_FALSE) continue;
        PyObject *ko = PyLong_FromLongLong(g->k);
        if (!ko) goto fail;
        PyObject *pos = PyDict_GetItemWithError(index, ko);
        PyObject *lst;
        if (pos) {
            lst = PyList_GET_ITEM(lists, PyLong_AsSsize_t(pos));
        } else {
            if (PyErr_Occurred()) { Py_DECREF(ko); goto fail; }
            PyObject *at = PyLong_FromSsize_t(PyList_GET_SIZE(lists));
            lst = PyList_New(0);
            int bad = !at || !lst || PyDict_SetItem(index, ko, at) < 0 ||
                      PyList_Append(lists, lst) < 0;
            Py_XDECREF(at);
            Py_XDECREF(lst); /* lists holds it */
            if (bad) { Py_DECREF(ko); goto fail; }
        }
        Py_DECREF(ko);
        Py_ssize_t nl = PyList_GET_SIZE(lst);
        if (nl) {
            PyObject *lastiv = PyList_GET_ITEM(lst, nl - 1);
            unsigned long long phi = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(lastiv, 1));
            if (phi == (unsigned long long)-1 && PyErr_Occurred()) goto fail;
            if (g->lo <= phi + 1) { /* touching (cannot overlap: the walk ascends) */
                PyObject *nt = Py_BuildValue("(OK)", PyTuple_GET_ITEM(lastiv, 0),
                                             (unsigned long long)(g->hi > phi ? g->hi : phi));
                if (!nt) goto fail;
                PyList_SetItem(lst, nl - 1, nt);
                continue;
            }
        }
        PyObject *t = Py_BuildValue("(KK)", (unsigned long long)g->lo, (unsigned long long)g->hi);
        if (!t || PyList_Append(lst, t) < 0) { Py_XDECREF(t); goto fail; }
        Py_DECREF(t);
    }
    {
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(index, &pos, &key, &val)) {
            PyObject *rs = PyList_AsTuple(PyList_GET_ITEM(lists, PyLong_AsSsize_t(val)));
            PyObject *pair = rs ? PyTuple_Pack(2, rs, key) : NULL;
            Py_XDECREF(rs);
            if (!pair || PyList_Append(out, pair) < 0) { Py_XDECREF(pair); goto fail; }
            Py_DECREF(pair);
        }
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    Py_XDECREF(index); Py_XDECREF(lists);
    return out;
}

static PyObject *Store_py_groups(PyObject *unused, PyObject *args) {
    (void)unused;
    GWalk W;
    PyObject *digits;
    long long node;
    int depth;
    memset(&W, 0, sizeof(W));
    if (!PyArg_ParseTuple(args, "O!O!O!iO!L", &PyList_Type, &W.lv, &PyList_Type, &W.br,
                          &PyList_Type, &W.kd, &depth, &PyTuple_Type, &digits, &node))
        return NULL;
    if (depth < 1 || depth > 4096) { po_bad("_mddc: bad depth"); return NULL; }
    W.depth = depth;
    if (gw_digits(&W, digits) < 0) return NULL;
    PyObject *out = gw_groups(&W, node);
    free(W.iv);
    return out;
}

/* py_rows(levels, breaks, kids, depth, spec, roots) -> [rows of each root]: packetset._Rows.below
   from field position 0 for one family and protocol class. spec has one (applies, digits)
   per field position below the protocol, in level order: a field that applies is read as
   groups (py_groups) and gives each row its ranges (None for the whole field); one that does
   not is followed at value 0 (packetset._follow). A row is the tuple of the applying
   fields' values, rows in depth-first order of the groups; the rows below a (node, position)
   are computed once per call (memo), so the cost is the distinct nodes plus the output. */
#define RW_MAXF 8

typedef struct {
    PyObject *lv, *br, *kd;
    int32_t depth;
    int nf;
    int applies[RW_MAXF];
    GWalk gw[RW_MAXF];
    PyObject *whole[RW_MAXF]; /* ((0, max),) of an applying field (owned) */
    PMemo memo;               /* (node, position) -> index into results */
    PyObject *results;        /* the memoised row lists */
} RWalk;

static int64_t rw_follow(RWalk *R, int j, int64_t n) { /* packetset._follow(value 0) */
    GWalk *W = &R->gw[j];
    for (int i = 0; i < W->nd; i++) {
        if (n < 0) break;
        int64_t l = gw_level(W, n);
        if (l < 0) return PO_ERR;
        if (l != W->dl[i]) continue;
        PyObject *bt = PyList_GET_ITEM(R->br, n), *kt = PyList_GET_ITEM(R->kd, n);
        if (!PyTuple_Check(bt) || !PyTuple_Check(kt) ||
            PyTuple_GET_SIZE(bt) != PyTuple_GET_SIZE(kt) - 1) { po_bad("_mddc: malformed node"); return PO_ERR; }
        Py_ssize_t lo = 0, hi = PyTuple_GET_SIZE(bt); /* bisect_right(breaks, 0) */
        while (lo < hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            PyObject *bo = PyTuple_GET_ITEM(bt, mid);
            long long b = PyLong_Check(bo) ? PyLong_AsLongLong(bo) : -1;
            if (b == -1 && PyErr_Occurred()) return PO_ERR;
            if (!PyLong_Check(bo)) { po_bad("_mddc: breaks must be ints"); return PO_ERR; }
            if (0 < b) hi = mid; else lo = mid + 1;
        }
        PyObject *ko = PyTuple_GET_ITEM(kt, lo);
        long long k = PyLong_Check(ko) ? PyLong_AsLongLong(ko) : -1;
        if (k == -1 && PyErr_Occurred()) return PO_ERR;
        if (!PyLong_Check(ko)) { po_bad("_mddc: kids must be ints"); return PO_ERR; }
        if (k <= PO_ERR + 1 || k >= PO_NONE) { po_bad("_mddc: kid out of range"); return PO_ERR; }
        n = k;
    }
    return n;
}

/* The rows of n from position j (a borrowed reference owned by R->results, or NULL). */
static PyObject *rw_below(RWalk *R, int64_t n, int j) {
    if (n == T_FALSE || (j == R->nf && n != T_TRUE)) {
        PyObject *none = PyList_New(0);
        if (!none || PyList_Append(R->results, none) < 0) { Py_XDECREF(none); return NULL; }
        Py_DECREF(none);
        return none;
    }
    if (j == R->nf) {
        PyObject *unit = Py_BuildValue("[()]");
        if (!unit || PyList_Append(R->results, unit) < 0) { Py_XDECREF(unit); return NULL; }
        Py_DECREF(unit);
        return unit;
    }
    PMEnt *e = pmemo_slot(&R->memo, n, j);
    if (e->a != PO_ERR) return PyList_GET_ITEM(R->results, e->r);
    PyObject *out;
    Py_ssize_t at;
    if (!R->applies[j]) {
        int64_t k = rw_follow(R, j, n);
        if (k == PO_ERR) return NULL;
        out = rw_below(R, k, j + 1);
        if (!out || PyList_Append(R->results, out) < 0) return NULL; /* indexed for the memo */
        at = PyList_GET_SIZE(R->results) - 1;
    } else {
        PyObject *groups = gw_groups(&R->gw[j], n);
        if (!groups) return NULL;
        out = PyList_New(0);
        if (!out || PyList_Append(R->results, out) < 0) { Py_XDECREF(out); Py_DECREF(groups); return NULL; }
        Py_DECREF(out); /* R->results holds it */
        at = PyList_GET_SIZE(R->results) - 1;
        for (Py_ssize_t g = 0; g < PyList_GET_SIZE(groups); g++) {
            PyObject *pair = PyList_GET_ITEM(groups, g);
            PyObject *rs = PyTuple_GET_ITEM(pair, 0);
            long long k = PyLong_AsLongLong(PyTuple_GET_ITEM(pair, 1));
            if (k == -1 && PyErr_Occurred()) { Py_DECREF(groups); return NULL; }
            int eq = PyObject_RichCompareBool(rs, R->whole[j], Py_EQ);
            if (eq < 0) { Py_DECREF(groups); return NULL; }
            PyObject *head = eq ? Py_None : rs;
            PyObject *tails = rw_below(R, k, j + 1);
            if (!tails) { Py_DECREF(groups); return NULL; }
            for (Py_ssize_t t = 0; t < PyList_GET_SIZE(tails); t++) {
                PyObject *tail = PyList_GET_ITEM(tails, t);
                Py_ssize_t nt = PyTuple_GET_SIZE(tail);
                PyObject *row = PyTuple_New(nt + 1);
                if (!row) { Py_DECREF(groups); return NULL; }
                Py_INCREF(head);
                PyTuple_SET_ITEM(row, 0, head);
                for (Py_ssize_t q = 0; q < nt; q++) {
                    PyObject *v = PyTuple_GET_ITEM(tail, q);
                    Py_INCREF(v);
                    PyTuple_SET_ITEM(row, q + 1, v);
                }
                int bad = PyList_Append(out, row);
                Py_DECREF(row);
                if (bad < 0) { Py_DECREF(groups); return NULL; }
            }
        }
        Py_DECREF(groups);
    }
    if (pmemo_put(&R->memo, n, j, at) < 0) { PyErr_NoMemory(); return NULL; }
    return out;
}

static PyObject *Store_py_rows(PyObject *unused, PyObject *args) {
    (void)unused;
    RWalk R;
    PyObject *spec, *roots;
    int depth;
    memset(&R, 0, sizeof(R));
    if (!PyArg_ParseTuple(args, "O!O!O!iO!O", &PyList_Type, &R.lv, &PyList_Type, &R.br,
                          &PyList_Type, &R.kd, &depth, &PyTuple_Type, &spec, &roots))
        return NULL;
    if (depth < 1 || depth > 4096) { po_bad("_mddc: bad depth"); return NULL; }
    R.depth = depth;
    Py_ssize_t nf = PyTuple_GET_SIZE(spec);
    if (nf > RW_MAXF) { po_bad("_mddc: bad spec"); return NULL; }
    R.nf = (int)nf;
    PyObject *out = NULL, *fast = NULL;
    for (int j = 0; j < R.nf; j++) {
        PyObject *item = PyTuple_GET_ITEM(spec, j), *digits;
        int applies;
        R.gw[j].lv = R.lv; R.gw[j].br = R.br; R.gw[j].kd = R.kd; R.gw[j].depth = depth;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "pO", &applies, &digits)) {
            if (!PyErr_Occurred()) po_bad("_mddc: bad spec");
            goto done;
        }
        R.applies[j] = applies;
        if (gw_digits(&R.gw[j], digits) < 0) goto done;
        int bits = 0;
        for (int i = 0; i < R.gw[j].nd; i++) bits += R.gw[j].dw[i];
        R.whole[j] = Py_BuildValue("((iK))", 0, (unsigned long long)((((uint64_t)1) << bits) - 1));
        if (!R.whole[j]) goto done;
    }
    fast = PySequence_Fast(roots, "roots must be a sequence of ints");
    R.results = PyList_New(0);
    if (!fast || !R.results || pmemo_init(&R.memo, 1024) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    out = PyList_New(PySequence_Fast_GET_SIZE(fast));
    for (Py_ssize_t i = 0; out && i < PySequence_Fast_GET_SIZE(fast); i++) {
        long long r = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(fast, i));
        if (r == -1 && PyErr_Occurred()) { Py_CLEAR(out); break; }
        if (r <= PO_ERR + 1 || r >= PO_NONE) { po_bad("_mddc: node id out of range"); Py_CLEAR(out); break; }
        PyObject *rows = rw_below(&R, r, 0);
        if (!rows) { Py_CLEAR(out); break; }
        Py_INCREF(rows);
        PyList_SET_ITEM(out, i, rows);
    }
done:
    for (int j = 0; j < RW_MAXF; j++) { free(R.gw[j].iv); Py_XDECREF(R.whole[j]); }
    free(R.memo.t);
    Py_XDECREF(R.results); Py_XDECREF(fast);
    return out;
}

/* ================================================================ end of Python-store operations */

static PyMethodDef Store_methods[] = {
    {"load", (PyCFunction)Store_load, METH_VARARGS, "import nodes of a Python store"},
    {"rules", (PyCFunction)Store_rules, METH_VARARGS, "build rule diagrams from boxes"},
    {"export", (PyCFunction)Store_export, METH_VARARGS, "export nodes into a Python store"},
    {"set_verdicts", (PyCFunction)Store_set_verdicts, METH_VARARGS, "terminal verdicts"},
    {"classify", (PyCFunction)Store_classify, METH_VARARGS, "classification by composition"},
    {"first", (PyCFunction)Store_first, METH_VARARGS, "classification of classify()'s diagram"},
    {"permitted", (PyCFunction)Store_permitted, METH_VARARGS, "permitted set of c"},
    {"apply", (PyCFunction)Store_apply, METH_VARARGS, "pointwise boolean operation"},
    {"dead", (PyCFunction)Store_dead, METH_VARARGS, "dead rules: other verdict?"},
    {"compact", (PyCFunction)Store_compact, METH_VARARGS, "keep only the roots"},
    {"lookup_many", (PyCFunction)Store_lookup_many, METH_VARARGS, "terminals of packets"},
    {"count", (PyCFunction)Store_count, METH_VARARGS, "nodes reachable from a root"},
    {"nbytes", (PyCFunction)Store_nbytes, METH_NOARGS, "bytes allocated"},
    {"made", (PyCFunction)Store_made, METH_NOARGS, "nodes created so far"},
    {"stats", (PyCFunction)Store_stats, METH_NOARGS, "sizes of the store's tables"},
    /* Python-store operations (reach/findings performance pass) */
    {"py_apply", (PyCFunction)Store_py_apply, METH_VARARGS | METH_STATIC,
     "mdd.Universe.apply (and/or/diff) on a Python store"},
    {"py_leaves_within", (PyCFunction)Store_py_leaves_within, METH_VARARGS | METH_STATIC,
     "passes.leaves_within on a Python store"},
    {"py_groups", (PyCFunction)Store_py_groups, METH_VARARGS | METH_STATIC,
     "packetset._groups on a Python store"},
    {"py_select", (PyCFunction)Store_py_select, METH_VARARGS | METH_STATIC,
     "passes.select on a Python store"},
    {"py_rows", (PyCFunction)Store_py_rows, METH_VARARGS | METH_STATIC,
     "packetset._Rows.below on a Python store"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Store_seq = {.sq_length = (lenfunc)Store_len};

static PyTypeObject StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "segcheck.engine._mddc.Store",
    .tp_basicsize = sizeof(Store),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A native node store for interval decision diagrams.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Store_init,
    .tp_dealloc = (destructor)Store_dealloc,
    .tp_methods = Store_methods,
    .tp_as_sequence = &Store_seq,
};

static struct PyModuleDef mddc_module = {
    PyModuleDef_HEAD_INIT, "_mddc", "Native decision-diagram kernel (see native.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__mddc(void) {
    if (PyType_Ready(&StoreType) < 0) return NULL;
    PyObject *m = PyModule_Create(&mddc_module);
    if (!m) return NULL;
    Py_INCREF(&StoreType);
    if (PyModule_AddObject(m, "Store", (PyObject *)&StoreType) < 0) {
        Py_DECREF(&StoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
