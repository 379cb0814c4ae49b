/* segcheck.capture._pcapc — optional native record walk, link/IP/L4 decode and per-chunk
 * flow grouping for the capture scan (issue #6).
 *
 * The pure-Python modules stay the reference: reader.py (record walk), dissect.py (headers),
 * scan.Scanner.packet (per-packet accounting) and vector._bulk (bulk ICS classification).
 * This file mirrors them exactly for the frames it accepts and hands back every other frame
 * ("slow": fragments, GRE, L2 ICS ethertypes, non-IP, truncated/invalid, unknown link types)
 * to Scanner.packet, so counting of undecodable and non-IP frames is the Python code's.
 *
 * Functions (all take the capture as a read-only buffer; every read is bounds-checked):
 *   pcap_chunk(buf, off, end, rec, big, unit, linktype, frame0, limit[, part, parts])
 *       -> (next_off, problem, chunk)       problem: 0, 1 cut-off header, 2 cut-off record
 *   pcapng_chunk(buf, off, stop, state, limit[, part, parts])
 *       -> (next_off, state, problems, ended, chunk)
 *   pcapng_split(buf, targets) -> list of (offset, state)   (record-aligned split points)
 *   bulk(buf, gid, pdir, po, pe, app, client, room, mb, dnp, s7, ncls)
 *       -> (handled, counts)
 * chunk = (n, frame, ts, wl, d, cl, lt, gid, pdir, po, pe, sp, dp, groups): per-record
 * columns as bytes (int64, float64, int32 gid (-1: slow, -2: a flow of another partition),
 * uint8 pdir, int32 ports) and one tuple per flow group of the chunk (see make_group).
 * With ``parts`` > 1 only flows whose partition() is ``part`` are grouped: workers each
 * walk the whole file and take a disjoint share of the flows.
 * A pcapng state is (big, ((linktype, tick), ...), frame, last_ts).
 * No global mutable state; all memory is freed before returning.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define FIRST_FRAMES 5
#define MAX_DEPTH 4

typedef struct {
    const uint8_t *b;
    int64_t n;
} Buf;

static inline int64_t be16(const uint8_t *b, int64_t p) { return (int64_t)b[p] << 8 | b[p + 1]; }

static inline uint32_t rd32(const uint8_t *b, int64_t p, int big) {
    if (big)
        return (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | b[p + 3];
    return (uint32_t)b[p + 3] << 24 | (uint32_t)b[p + 2] << 16 | (uint32_t)b[p + 1] << 8 | b[p];
}

static inline uint32_t rd16(const uint8_t *b, int64_t p, int big) {
    if (big)
        return (uint32_t)b[p] << 8 | b[p + 1];
    return (uint32_t)b[p + 1] << 8 | b[p];
}

/* ------------------------------------------------------------------ dissection */

typedef struct {
    int version, proto, flags;
    int64_t src, dst; /* offsets of the packed addresses */
    int32_t sp, dp;
    int64_t po, pe;
    int64_t smac;     /* offset of the source MAC, or -1 for None */
    int smac_len;
} Dis;

static int dis_frame(const uint8_t *b, int64_t off, int64_t end, int64_t lt, int depth, Dis *o);

static int dis_l4(const uint8_t *b, int64_t q, int64_t ipend, Dis *o) {
    int proto = o->proto;
    o->flags = 0;
    if (proto == 6) {
        int64_t hl;
        if (q + 14 > ipend)
            return 0;
        hl = (int64_t)(b[q + 12] >> 4) << 2;
        o->sp = (int32_t)be16(b, q);
        o->dp = (int32_t)be16(b, q + 2);
        o->flags = b[q + 13];
        o->po = hl >= 20 ? (q + hl < ipend ? q + hl : ipend) : ipend;
        o->pe = ipend;
        return 1;
    }
    if (proto == 17) {
        if (q + 8 > ipend)
            return 0;
        o->sp = (int32_t)be16(b, q);
        o->dp = (int32_t)be16(b, q + 2);
        o->po = q + 8;
        o->pe = ipend;
        return 1;
    }
    if (proto == 33 || proto == 132 || proto == 136) {
        if (q + 4 > ipend)
            return 0;
        o->sp = (int32_t)be16(b, q);
        o->dp = (int32_t)be16(b, q + 2);
        o->po = q + 4;
        o->pe = ipend;
        return 1;
    }
    if (proto == 47) /* GRE: maybe ERSPAN, the Python path unwraps it */
        return 0;
    o->sp = o->dp = 0;
    o->po = q;
    o->pe = ipend;
    return 1;
}

static int dis_ipv4(const uint8_t *b, int64_t p, int64_t end, Dis *o) {
    int vihl, ihl;
    int64_t total, ipend, ff, l4;
    if (p + 20 > end)
        return 0;
    vihl = b[p];
    ihl = (vihl & 15) << 2;
    if (vihl >> 4 != 4 || ihl < 20)
        return 0;
    total = be16(b, p + 2);
    ipend = total >= ihl ? p + total : end;
    if (ipend > end)
        ipend = end;
    ff = be16(b, p + 6);
    l4 = p + ihl;
    if (l4 > end)
        return 0;
    if (ff & 0x3FFF) /* fragment: the Python path keeps the fragment table */
        return 0;
    o->version = 4;
    o->proto = b[p + 9];
    o->src = p + 12;
    o->dst = p + 16;
    return dis_l4(b, l4, ipend, o);
}

static int dis_ipv6(const uint8_t *b, int64_t p, int64_t end, Dis *o) {
    int64_t plen, q, ipend;
    int nh, i, done = 0;
    if (p + 40 > end)
        return 0;
    if (b[p] >> 4 != 6)
        return 0;
    plen = be16(b, p + 4);
    nh = b[p + 6];
    q = p + 40;
    ipend = plen ? q + plen : end;
    if (ipend > end)
        ipend = end;
    for (i = 0; i < 16; i++) {
        if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140) {
            int64_t nq;
            if (q + 2 > ipend)
                return 0;
            nq = q + (((int64_t)b[q + 1] + 1) << 3);
            nh = b[q];
            q = nq;
        } else if (nh == 51) {
            int64_t nq;
            if (q + 2 > ipend)
                return 0;
            nq = q + (((int64_t)b[q + 1] + 2) << 2);
            nh = b[q];
            q = nq;
        } else if (nh == 44) {
            return 0; /* fragment header: Python path */
        } else {
            done = 1;
            break;
        }
    }
    if (!done)
        return 0;
    if (q > ipend)
        return 0;
    o->version = 6;
    o->proto = nh;
    o->src = p + 8;
    o->dst = p + 24;
    return dis_l4(b, q, ipend, o);
}

static int dis_ethertype(const uint8_t *b, int64_t p, int64_t end, int64_t et, int depth,
                         Dis *o) {
    for (;;) {
        if (et == 0x0800)
            return dis_ipv4(b, p, end, o);
        if (et == 0x86DD)
            return dis_ipv6(b, p, end, o);
        if (et == 0x8100 || et == 0x88A8 || et == 0x9100 || et == 0x9200) {
            if (p + 4 > end)
                return 0;
            et = be16(b, p + 2);
            p += 4;
            continue;
        }
        if (et <= 1500) {
            if (p + 3 <= end && b[p] == 0xAA && b[p + 1] == 0xAA && b[p + 2] == 3) {
                if (p + 8 > end)
                    return 0;
                et = be16(b, p + 6);
                p += 8;
                continue;
            }
            return 0;
        }
        if (et == 0x8847 || et == 0x8848) {
            int nib;
            for (;;) {
                int bottom;
                if (p + 4 > end)
                    return 0;
                bottom = b[p + 2] & 1;
                p += 4;
                if (bottom)
                    break;
            }
            if (p >= end)
                return 0;
            nib = b[p] >> 4;
            if (nib == 4)
                return dis_ipv4(b, p, end, o);
            if (nib == 6)
                return dis_ipv6(b, p, end, o);
            if (nib == 0 && p + 4 + 14 <= end && depth < MAX_DEPTH)
                return dis_frame(b, p + 4, end, 1, depth + 1, o);
            return 0;
        }
        if (et == 0x8864) {
            int64_t ppp;
            if (p + 8 > end)
                return 0;
            ppp = be16(b, p + 6);
            if (ppp == 0x0021)
                return dis_ipv4(b, p + 8, end, o);
            if (ppp == 0x0057)
                return dis_ipv6(b, p + 8, end, o);
            return 0;
        }
        return 0; /* L2 ICS ethertypes and non-IP: Python path */
    }
}

static int dis_frame(const uint8_t *b, int64_t off, int64_t end, int64_t lt, int depth, Dis *o) {
    if (end < off)
        return 0;
    if (lt == 1) {
        if (off + 14 > end)
            return 0;
        o->smac = off + 6;
        o->smac_len = 6;
        return dis_ethertype(b, off + 14, end, be16(b, off + 12), depth, o);
    }
    if (lt == 101 || lt == 12 || lt == 14 || lt == 228 || lt == 229) {
        int nib;
        o->smac = -1;
        if (off >= end)
            return 0;
        nib = b[off] >> 4;
        if (nib == 4)
            return dis_ipv4(b, off, end, o);
        if (nib == 6)
            return dis_ipv6(b, off, end, o);
        return 0;
    }
    if (lt == 113) {
        int64_t alen;
        if (off + 16 > end)
            return 0;
        alen = be16(b, off + 4);
        o->smac = off + 6;
        o->smac_len = (int)(alen < 8 ? alen : 8);
        return dis_ethertype(b, off + 16, end, be16(b, off + 14), depth, o);
    }
    if (lt == 276) {
        int alen;
        if (off + 20 > end)
            return 0;
        alen = b[off + 11];
        o->smac = off + 12;
        o->smac_len = alen < 8 ? alen : 8;
        return dis_ethertype(b, off + 20, end, be16(b, off), depth, o);
    }
    if (lt == 0 || lt == 108) {
        uint32_t fam;
        if (off + 4 > end)
            return 0;
        fam = rd32(b, off, lt == 108);
        if (fam > 0xFFFF)
            fam = rd32(b, off, lt != 108);
        o->smac = -1;
        if (fam == 2)
            return dis_ipv4(b, off + 4, end, o);
        if (fam == 10 || fam == 23 || fam == 24 || fam == 28 || fam == 30)
            return dis_ipv6(b, off + 4, end, o);
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ chunk buffers */

/* The per-record output columns, allocated as the bytes objects handed back (no copy):
 * int64 frame, float64 ts, int64 wl, d, cl, lt, int32 gid, uint8 pdir, int64 po, pe,
 * int32 sp, dp. */
#define NCOLS 12
static const Py_ssize_t COL_SIZE[NCOLS] = {8, 8, 8, 8, 8, 8, 4, 1, 8, 8, 4, 4};

typedef struct {
    int64_t n, cap;
    PyObject *obj[NCOLS];
    int64_t *frame, *wl, *d, *cl, *lt, *po, *pe;
    double *ts;
    int32_t *gid, *sp, *dp;
    uint8_t *pdir;
} Cols;

static void cols_free(Cols *c) {
    int k;
    for (k = 0; k < NCOLS; k++)
        Py_CLEAR(c->obj[k]);
}

static int cols_init(Cols *c, int64_t cap) {
    int k;
    memset(c, 0, sizeof(*c));
    if (cap < 1)
        cap = 1;
    c->cap = cap;
    for (k = 0; k < NCOLS; k++) {
        c->obj[k] = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap * COL_SIZE[k]);
        if (!c->obj[k]) {
            cols_free(c);
            return -1;
        }
    }
#define PTR(k, t) ((t *)PyBytes_AS_STRING(c->obj[k]))
    c->frame = PTR(0, int64_t);
    c->ts = PTR(1, double);
    c->wl = PTR(2, int64_t);
    c->d = PTR(3, int64_t);
    c->cl = PTR(4, int64_t);
    c->lt = PTR(5, int64_t);
    c->gid = PTR(6, int32_t);
    c->pdir = PTR(7, uint8_t);
    c->po = PTR(8, int64_t);
    c->pe = PTR(9, int64_t);
    c->sp = PTR(10, int32_t);
    c->dp = PTR(11, int32_t);
#undef PTR
    return 0;
}

static void cols_add(Cols *c, int64_t frame, int64_t lt, double ts, int64_t d, int64_t cl,
                     int64_t wl) {
    int64_t i = c->n++;
    c->frame[i] = frame;
    c->lt[i] = lt;
    c->ts[i] = ts;
    c->d[i] = d;
    c->cl[i] = cl;
    c->wl[i] = wl;
}

/* ------------------------------------------------------------------ grouping */

typedef struct {
    int64_t i0, io, isyn, n1, nall, b1, ball;
    double tsmax;
    int syndir, nff;
    int64_t ff[FIRST_FRAMES];
    uint64_t key[5]; /* canonical key: address words (v4: lo << 32 | hi), ports/proto/len */
    int64_t src0, dst0, mac0, maco; /* first record's address offsets; MAC offsets (-1: None) */
    int alen, proto, swap0, mac0_len, maco_len;
} Grp;

static inline uint64_t be64(const uint8_t *b, int64_t p) {
    return (uint64_t)rd32(b, p, 1) << 32 | rd32(b, p + 4, 1);
}

static uint64_t mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

/* The flow grouping of one chunk, filled record by record while walking (the record's
 * headers are still in cache). */
typedef struct {
    int32_t *table;
    int64_t size, ng;
    Grp *g;
    int64_t part, parts; /* keep only flows with partition(flow) == part (parts > 1) */
} Grouper;

/* The flow's partition among ``parts`` workers: a function of its canonical key only, the
 * same as flows.partition() computes in Python (big-endian 32-bit words of the lower then
 * the higher address, their ports, the protocol). */
static int64_t partition(const uint8_t *b, int64_t lo, int64_t hi, int alen, int32_t plo,
                         int32_t phi, int proto, int64_t parts) {
    uint64_t s = 0;
    int k;
    for (k = 0; k < alen; k += 4) {
        s += (uint64_t)b[lo + k] << 24 | (uint64_t)b[lo + k + 1] << 16 | (uint64_t)b[lo + k + 2] << 8 | b[lo + k + 3];
        s += ((uint64_t)b[hi + k] << 24 | (uint64_t)b[hi + k + 1] << 16 | (uint64_t)b[hi + k + 2] << 8 | b[hi + k + 3]) * 3;
    }
    s += (uint64_t)plo * 65537 + (uint64_t)phi * 31 + (uint64_t)proto * 7919;
    s *= 0x9E3779B97F4A7C15ULL;
    return (int64_t)((s >> 33) % (uint64_t)parts);
}

static int grouper_init(Grouper *gp, int64_t limit, int64_t part, int64_t parts) {
    int64_t size = 1;
    gp->part = part;
    gp->parts = parts;
    while (size < 2 * limit + 2)
        size <<= 1;
    gp->size = size;
    gp->ng = 0;
    gp->table = (int32_t *)PyMem_Malloc((size_t)size * sizeof(int32_t));
    gp->g = (Grp *)PyMem_Malloc((size_t)(limit > 0 ? limit : 1) * sizeof(Grp));
    if (!gp->table || !gp->g) {
        PyMem_Free(gp->table);
        PyMem_Free(gp->g);
        gp->table = NULL;
        gp->g = NULL;
        PyErr_NoMemory();
        return -1;
    }
    memset(gp->table, 0xFF, (size_t)size * sizeof(int32_t));
    return 0;
}

static void grouper_free(Grouper *gp) {
    PyMem_Free(gp->table);
    PyMem_Free(gp->g);
    gp->table = NULL;
    gp->g = NULL;
}

/* Dissect record ``i`` of ``c`` and, when accepted, add it to its group (gid -1: slow). */
static void group_add(const Buf *buf, Cols *c, Grouper *gp, int64_t i) {
    const uint8_t *b = buf->b;
    Grp *g = gp->g;
    int64_t size = gp->size;
    int32_t *table = gp->table;
    Dis o;
    int64_t d = c->d[i], cl = c->cl[i];
    int cmpv, alen, pd, swap;
    uint64_t h, key[5];
    int64_t lo, hi, slot;
    int32_t plo, phi;
    Grp *gr;
    c->gid[i] = -1;
    c->pdir[i] = 0;
    c->po[i] = c->pe[i] = 0;
    c->sp[i] = c->dp[i] = 0;
    memset(&o, 0, sizeof(o));
    o.smac = -1;
    if (cl < 0 || d < 0 || d + cl > buf->n || !dis_frame(b, d, d + cl, c->lt[i], 0, &o))
        return;
    alen = o.version == 4 ? 4 : 16;
    c->sp[i] = o.sp;
    c->dp[i] = o.dp;
    c->po[i] = o.po;
    c->pe[i] = o.pe;
    if (alen == 4) {
        uint64_t sa = rd32(b, o.src, 1), da = rd32(b, o.dst, 1);
        cmpv = sa < da ? -1 : sa > da;
        swap = cmpv > 0 || (cmpv == 0 && o.sp > o.dp);
        key[0] = swap ? da << 32 | sa : sa << 32 | da;
        key[1] = key[2] = key[3] = 0;
    } else {
        uint64_t s0 = be64(b, o.src), s1 = be64(b, o.src + 8);
        uint64_t d0 = be64(b, o.dst), d1 = be64(b, o.dst + 8);
        cmpv = s0 != d0 ? (s0 < d0 ? -1 : 1) : (s1 < d1 ? -1 : s1 > d1);
        swap = cmpv > 0 || (cmpv == 0 && o.sp > o.dp);
        key[0] = swap ? d0 : s0;
        key[1] = swap ? d1 : s1;
        key[2] = swap ? s0 : d0;
        key[3] = swap ? s1 : d1;
    }
    key[4] = (uint64_t)(swap ? o.dp : o.sp) << 40 | (uint64_t)(swap ? o.sp : o.dp) << 24 |
             (uint64_t)o.proto << 8 | (uint64_t)alen;
    if (gp->parts > 1) {
        lo = swap ? o.dst : o.src;
        hi = swap ? o.src : o.dst;
        plo = swap ? o.dp : o.sp;
        phi = swap ? o.sp : o.dp;
        if (partition(b, lo, hi, alen, plo, phi, o.proto, gp->parts) != gp->part) {
            c->gid[i] = -2; /* another worker's flow */
            return;
        }
    }
    h = mix(mix(mix(mix(mix(0, key[0]), key[1]), key[2]), key[3]), key[4]);
    slot = (int64_t)(h & (uint64_t)(size - 1));
    for (;;) {
        int32_t k = table[slot];
        if (k < 0) {
            gr = &g[gp->ng];
            table[slot] = (int32_t)gp->ng;
            memset(gr, 0, sizeof(*gr));
            memcpy(gr->key, key, sizeof(key));
            gr->i0 = i;
            gr->src0 = o.src;
            gr->dst0 = o.dst;
            gr->alen = alen;
            gr->proto = o.proto;
            gr->swap0 = swap;
            gr->mac0 = o.smac;
            gr->mac0_len = o.smac_len;
            gr->maco = -1;
            gr->io = gr->isyn = -1;
            gr->syndir = -1;
            gr->tsmax = c->ts[i];
            c->gid[i] = (int32_t)gp->ng;
            gp->ng++;
            break;
        }
        if (g[k].key[0] == key[0] && g[k].key[4] == key[4] && g[k].key[1] == key[1] &&
            g[k].key[2] == key[2] && g[k].key[3] == key[3]) {
            c->gid[i] = k;
            break;
        }
        slot = (slot + 1) & (size - 1);
    }
    gr = &g[c->gid[i]];
    pd = swap ^ gr->swap0;
    c->pdir[i] = (uint8_t)pd;
    gr->nall++;
    gr->ball += c->wl[i];
    if (pd) {
        gr->n1++;
        gr->b1 += c->wl[i];
        if (gr->io < 0) {
            gr->io = i;
            gr->maco = o.smac;
            gr->maco_len = o.smac_len;
        }
    }
    if (c->ts[i] > gr->tsmax)
        gr->tsmax = c->ts[i];
    if (gr->isyn < 0 && o.proto == 6 && (o.flags & 2)) {
        gr->isyn = i;
        gr->syndir = pd ^ ((o.flags & 0x10) != 0);
    }
    if (gr->nff < FIRST_FRAMES)
        gr->ff[gr->nff++] = c->frame[i];
}

static PyObject *mac_obj(const uint8_t *b, int64_t off, int len) {
    if (off < 0)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)b + off, len);
}

/* (version, proto, key, frame0, ts0, tsmax, n0, n1, b0, b1, mac0, frame_other, mac_other,
 *  frame_syn, syn_dir, first_frames) */
static PyObject *make_group(const uint8_t *b, const Cols *c, const Grp *g) {
    int64_t i0 = g->i0;
    int alen = g->alen;
    uint8_t key[36];
    PyObject *ff, *t;
    int k;
    memcpy(key, b + g->src0, (size_t)alen);
    memcpy(key + alen, b + g->dst0, (size_t)alen);
    key[2 * alen] = (uint8_t)(c->sp[i0] >> 8);
    key[2 * alen + 1] = (uint8_t)c->sp[i0];
    key[2 * alen + 2] = (uint8_t)(c->dp[i0] >> 8);
    key[2 * alen + 3] = (uint8_t)c->dp[i0];
    ff = PyTuple_New(g->nff);
    if (!ff)
        return NULL;
    for (k = 0; k < g->nff; k++) {
        PyObject *v = PyLong_FromLongLong(g->ff[k]);
        if (!v) {
            Py_DECREF(ff);
            return NULL;
        }
        PyTuple_SET_ITEM(ff, k, v);
    }
    t = Py_BuildValue("(iiy#LddLLLLNLNLiN)", alen == 4 ? 4 : 6, g->proto,
                      (const char *)key, (Py_ssize_t)(2 * alen + 4), (long long)c->frame[i0],
                      c->ts[i0], g->tsmax, (long long)(g->nall - g->n1), (long long)g->n1,
                      (long long)(g->ball - g->b1), (long long)g->b1,
                      mac_obj(b, g->mac0, g->mac0_len),
                      (long long)(g->io >= 0 ? c->frame[g->io] : -1),
                      mac_obj(b, g->io >= 0 ? g->maco : -1, g->maco_len),
                      (long long)(g->isyn >= 0 ? c->frame[g->isyn] : -1), g->syndir, ff);
    return t;
}

static PyObject *chunk_result(const Buf *buf, Cols *c, const Grouper *gp) {
    int64_t ng = gp->ng, k;
    PyObject *groups, *res;
    groups = PyList_New((Py_ssize_t)ng);
    if (!groups)
        return NULL;
    for (k = 0; k < ng; k++) {
        PyObject *t = make_group(buf->b, c, &gp->g[k]);
        if (!t) {
            Py_DECREF(groups);
            return NULL;
        }
        PyList_SET_ITEM(groups, (Py_ssize_t)k, t);
    }
    for (k = 0; k < NCOLS; k++) {
        if (_PyBytes_Resize(&c->obj[k], (Py_ssize_t)c->n * COL_SIZE[k]) < 0) {
            c->obj[k] = NULL; /* freed by _PyBytes_Resize */
            Py_DECREF(groups);
            return NULL;
        }
    }
    res = Py_BuildValue("(LOOOOOOOOOOOON)", (long long)c->n, c->obj[0], c->obj[1], c->obj[2],
                        c->obj[3], c->obj[4], c->obj[5], c->obj[6], c->obj[7], c->obj[8],
                        c->obj[9], c->obj[10], c->obj[11], groups);
    return res;
}

static int get_buf(PyObject *obj, Py_buffer *view, Buf *buf) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    buf->b = (const uint8_t *)view->buf;
    buf->n = (int64_t)view->len;
    return 0;
}

/* ------------------------------------------------------------------ pcap */

static PyObject *pcap_chunk(PyObject *self, PyObject *args) {
    PyObject *obj, *chunk, *res;
    long long off, end, rec, big, linktype, frame0, limit, part = 0, parts = 1;
    double unit;
    Py_buffer view;
    Buf buf;
    Cols c;
    Grouper gp;
    int problem = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLLLLdLLL|LL", &obj, &off, &end, &rec, &big, &unit,
                          &linktype, &frame0, &limit, &part, &parts))
        return NULL;
    if (rec < 16 || limit < 1 || off < 0 || parts < 1 || part < 0 || part >= parts) {
        PyErr_SetString(PyExc_ValueError, "bad pcap_chunk arguments");
        return NULL;
    }
    if (get_buf(obj, &view, &buf) < 0)
        return NULL;
    if (end > buf.n)
        end = buf.n;
    if (cols_init(&c, limit) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (grouper_init(&gp, limit, part, parts) < 0) {
        cols_free(&c);
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    while (c.n < limit && off < end) {
        int64_t caplen, nxt;
        if (off + rec > buf.n) {
            problem = 1;
            break;
        }
        caplen = rd32(buf.b, off + 8, (int)big);
        nxt = off + rec + caplen;
        if (nxt > buf.n) {
            problem = 2;
            break;
        }
        cols_add(&c, frame0 + c.n, linktype,
                 (double)rd32(buf.b, off, (int)big) + (double)rd32(buf.b, off + 4, (int)big) * unit,
                 off + rec, caplen, rd32(buf.b, off + 12, (int)big));
        group_add(&buf, &c, &gp, c.n - 1);
        off = nxt;
    }
    Py_END_ALLOW_THREADS
    chunk = chunk_result(&buf, &c, &gp);
    grouper_free(&gp);
    cols_free(&c);
    PyBuffer_Release(&view);
    if (!chunk)
        return NULL;
    res = Py_BuildValue("(LiN)", off, problem, chunk);
    return res;
}

/* ------------------------------------------------------------------ pcapng */

typedef struct {
    int big;
    int64_t nif, cap;
    int64_t *lt;
    double *tick;
    int64_t frame;
    double last_ts;
    int64_t problems[4]; /* bad section header, bad/cut-off block, bad packet, cut-off tail */
} Ng;

static void ng_free(Ng *s) {
    PyMem_RawFree(s->lt);
    PyMem_RawFree(s->tick);
    s->lt = NULL;
    s->tick = NULL;
}

static int ng_from_state(PyObject *state, Ng *s) {
    PyObject *ifs;
    int big;
    long long frame;
    double last_ts;
    Py_ssize_t k, n;
    memset(s, 0, sizeof(*s));
    if (!PyArg_ParseTuple(state, "iOLd", &big, &ifs, &frame, &last_ts))
        return -1;
    if (!PyTuple_Check(ifs)) {
        PyErr_SetString(PyExc_TypeError, "interfaces must be a tuple");
        return -1;
    }
    n = PyTuple_GET_SIZE(ifs);
    s->big = big;
    s->frame = frame;
    s->last_ts = last_ts;
    s->cap = n > 8 ? n : 8;
    s->lt = (int64_t *)PyMem_RawMalloc((size_t)s->cap * sizeof(int64_t));
    s->tick = (double *)PyMem_RawMalloc((size_t)s->cap * sizeof(double));
    if (!s->lt || !s->tick) {
        ng_free(s);
        PyErr_NoMemory();
        return -1;
    }
    for (k = 0; k < n; k++) {
        long long lt;
        double tick;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(ifs, k), "Ld", &lt, &tick)) {
            ng_free(s);
            return -1;
        }
        s->lt[k] = lt;
        s->tick[k] = tick;
    }
    s->nif = n;
    return 0;
}

static PyObject *ng_state(const Ng *s) {
    PyObject *ifs = PyTuple_New((Py_ssize_t)s->nif);
    int64_t k;
    if (!ifs)
        return NULL;
    for (k = 0; k < s->nif; k++) {
        PyObject *t = Py_BuildValue("(Ld)", (long long)s->lt[k], s->tick[k]);
        if (!t) {
            Py_DECREF(ifs);
            return NULL;
        }
        PyTuple_SET_ITEM(ifs, (Py_ssize_t)k, t);
    }
    return Py_BuildValue("(iNLd)", s->big, ifs, (long long)s->frame, s->last_ts);
}

static double tsresol(const uint8_t *b, int64_t opt, int64_t end, int big) {
    while (opt + 4 <= end) {
        uint32_t code = rd16(b, opt, big), length = rd16(b, opt + 2, big);
        if (code == 0)
            break;
        if (code == 9 && length >= 1) {
            int v = b[opt + 4]; /* opt + 4 <= end < block end <= size */
            return (v & 0x80) ? pow(2.0, -(double)(v & 0x7F)) : pow(10.0, -(double)(v & 0x7F));
        }
        opt += 4 + (((int64_t)length + 3) & ~(int64_t)3);
    }
    return 1e-6;
}

/* Append an interface; -2 when out of memory (checked without the GIL: no exception set). */
static int ng_add_iface(Ng *s, int64_t lt, double tick) {
    if (s->nif == s->cap) {
        int64_t cap = s->cap * 2;
        int64_t *nlt = (int64_t *)PyMem_RawRealloc(s->lt, (size_t)cap * sizeof(int64_t));
        double *ntick;
        if (!nlt)
            return -2;
        s->lt = nlt;
        ntick = (double *)PyMem_RawRealloc(s->tick, (size_t)cap * sizeof(double));
        if (!ntick)
            return -2;
        s->tick = ntick;
        s->cap = cap;
    }
    s->lt[s->nif] = lt;
    s->tick[s->nif] = tick;
    s->nif++;
    return 0;
}

/* A packet block (enhanced, type 6, or obsolete, type 2: the same layout except that the
   obsolete block's interface id is 16 bits, followed by a 16-bit drops count) whose body starts
   at ``body`` and whose options end at ``end``: counts the frame, keeps its time as the last
   time and adds the record to ``c`` (if any); 0 and a problem counted if it is cut off or
   names an unknown interface, else 1. */
static inline int ng_packet(const uint8_t *b, Ng *s, Cols *c, int64_t body, int64_t end, int big,
                            int iface16) {
    uint32_t iface, hi, lo, caplen, wirelen;
    s->frame++;
    if (body + 20 > end) {
        s->problems[2]++;
        return 0;
    }
    iface = iface16 ? rd16(b, body, big) : rd32(b, body, big);
    hi = rd32(b, body + 4, big);
    lo = rd32(b, body + 8, big);
    caplen = rd32(b, body + 12, big);
    wirelen = rd32(b, body + 16, big);
    if (iface >= s->nif || body + 20 + (int64_t)caplen > end) {
        s->problems[2]++;
        return 0;
    }
    s->last_ts = (double)((uint64_t)hi << 32 | lo) * s->tick[iface];
    if (c)
        cols_add(c, s->frame, s->lt[iface], s->last_ts, body + 20, caplen, wirelen);
    return 1;
}

/* One block at ``*off``. Returns 1 with a record in ``c`` (when c is not NULL), 0 for no
 * record, -1 when the walk must end (problem counted), -2 out of memory. Mirrors
 * reader._walk_pcapng. */
static int ng_block(const Buf *buf, Ng *s, int64_t *offp, Cols *c) {
    const uint8_t *b = buf->b;
    int64_t off = *offp, size = buf->n, blen, body;
    uint32_t btype = rd32(b, off, 0);
    int big = s->big;
    if (btype == 0x0A0D0D0A) {
        uint32_t bom = rd32(b, off + 8, 0);
        if (bom == 0x1A2B3C4D)
            big = 0;
        else if (bom == 0x4D3C2B1A)
            big = 1;
        else {
            s->problems[0]++;
            return -1;
        }
        s->big = big;
        s->nif = 0;
    } else {
        btype = rd32(b, off, big);
    }
    blen = rd32(b, off + 4, big);
    if (blen < 12 || blen % 4 || off + blen > size) {
        s->problems[1]++;
        return -1;
    }
    body = off + 8;
    *offp = off + blen;
    if (btype == 6)  /* enhanced packet block: 32-bit interface id */
        return ng_packet(b, s, c, body, off + blen - 4, big, 0);
    if (btype == 3) {
        int64_t wirelen = rd32(b, body, big), caplen;
        s->frame++;
        caplen = wirelen < blen - 16 ? wirelen : blen - 16;
        if (!s->nif) {
            s->problems[2]++;
            return 0;
        }
        if (c)
            cols_add(c, s->frame, s->lt[0], s->last_ts, body + 4, caplen, wirelen);
        return 1;
    }
    if (btype == 2)  /* obsolete packet block: 16-bit interface id, 16-bit drops */
        return ng_packet(b, s, c, body, off + blen - 4, big, 1);
    if (btype == 1) {
        int64_t lt = rd16(b, body, big);
        double tick = tsresol(b, body + 8, off + blen - 4, big);
        if (ng_add_iface(s, lt, tick) < 0)
            return -2;
    }
    return 0;
}

static PyObject *pcapng_chunk(PyObject *self, PyObject *args) {
    PyObject *obj, *state, *chunk, *st, *res;
    long long off, stop, limit, part = 0, parts = 1;
    Py_buffer view;
    Buf buf;
    Cols c;
    Grouper gp;
    Ng s;
    int ended = 0, oom = 0, rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLLOL|LL", &obj, &off, &stop, &state, &limit, &part, &parts))
        return NULL;
    if (limit < 1 || off < 0 || parts < 1 || part < 0 || part >= parts) {
        PyErr_SetString(PyExc_ValueError, "bad pcapng_chunk arguments");
        return NULL;
    }
    if (ng_from_state(state, &s) < 0)
        return NULL;
    if (get_buf(obj, &view, &buf) < 0) {
        ng_free(&s);
        return NULL;
    }
    if (stop > buf.n)
        stop = buf.n;
    if (cols_init(&c, limit) < 0) {
        ng_free(&s);
        PyBuffer_Release(&view);
        return NULL;
    }
    if (grouper_init(&gp, limit, part, parts) < 0) {
        cols_free(&c);
        ng_free(&s);
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    while (c.n < limit) {
        int64_t o = off;
        if (!(off < stop && off + 12 <= buf.n))
            break;
        rc = ng_block(&buf, &s, &o, &c);
        if (rc == -2) {
            oom = 1;
            break;
        }
        if (rc < 0) {
            ended = 1;
            break;
        }
        if (rc == 1)
            group_add(&buf, &c, &gp, c.n - 1);
        off = o;
    }
    if (!ended && !oom && c.n < limit && off + 12 > buf.n && off < buf.n)
        s.problems[3]++;
    Py_END_ALLOW_THREADS
    if (oom) {
        grouper_free(&gp);
        cols_free(&c);
        ng_free(&s);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    chunk = chunk_result(&buf, &c, &gp);
    grouper_free(&gp);
    cols_free(&c);
    PyBuffer_Release(&view);
    if (!chunk) {
        ng_free(&s);
        return NULL;
    }
    st = ng_state(&s);
    if (!st) {
        ng_free(&s);
        Py_DECREF(chunk);
        return NULL;
    }
    res = Py_BuildValue("(LN(LLLL)iN)", ended ? (long long)buf.n : off, st,
                        (long long)s.problems[0], (long long)s.problems[1],
                        (long long)s.problems[2], (long long)s.problems[3], ended, chunk);
    ng_free(&s);
    return res;
}

/* Split points: for each target offset (ascending), the first block boundary at or after it
 * (before which the walk has not ended), with the state there. */
static PyObject *pcapng_split(PyObject *self, PyObject *args) {
    PyObject *obj, *state, *targets, *out;
    long long off;
    Py_buffer view;
    Buf buf;
    Ng s;
    Py_ssize_t t = 0, nt;
    int rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLOO!", &obj, &off, &state, &PyList_Type, &targets))
        return NULL;
    if (ng_from_state(state, &s) < 0)
        return NULL;
    if (get_buf(obj, &view, &buf) < 0) {
        ng_free(&s);
        return NULL;
    }
    out = PyList_New(0);
    nt = PyList_GET_SIZE(targets);
    while (out && t < nt && off >= 0 && off + 12 <= buf.n) {
        long long target = PyLong_AsLongLong(PyList_GET_ITEM(targets, t));
        int64_t o = off;
        if (target == -1 && PyErr_Occurred()) {
            Py_CLEAR(out);
            break;
        }
        if (off >= target) {
            PyObject *st = ng_state(&s), *item;
            if (!st) {
                Py_CLEAR(out);
                break;
            }
            item = Py_BuildValue("(LN)", off, st);
            if (!item || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                Py_CLEAR(out);
                break;
            }
            Py_DECREF(item);
            t++;
            continue;
        }
        rc = ng_block(&buf, &s, &o, NULL);
        if (rc == -2) {
            Py_CLEAR(out);
            PyErr_NoMemory();
            break;
        }
        if (rc < 0)
            break;
        off = o;
    }
    ng_free(&s);
    PyBuffer_Release(&view);
    return out;
}

/* ------------------------------------------------------------------ bulk ICS classes */

static int get_col(PyObject *o, Py_buffer *v, Py_ssize_t itemsize, Py_ssize_t n) {
    if (PyObject_GetBuffer(o, v, PyBUF_SIMPLE) < 0)
        return -1;
    if (v->len != itemsize * n) {
        PyBuffer_Release(v);
        PyErr_SetString(PyExc_ValueError, "column length mismatch");
        return -1;
    }
    return 0;
}

static PyObject *bulk(PyObject *self, PyObject *args) {
    PyObject *obj, *ogid, *opdir, *opo, *ope, *oapp, *oclient, *oroom, *omb, *odnp, *os7;
    Py_ssize_t n, ng, ncls;
    Py_buffer vb, vgid, vpdir, vpo, vpe, vapp, vcl, vroom, vmb, vdnp, vs7;
    PyObject *handled = NULL, *counts = NULL, *res = NULL;
    int nb = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOnnn", &obj, &ogid, &opdir, &opo, &ope, &oapp,
                          &oclient, &oroom, &omb, &odnp, &os7, &n, &ng, &ncls))
        return NULL;
    if (n < 0 || ng < 0 || ncls < 1 || ncls > 64) {
        PyErr_SetString(PyExc_ValueError, "bad bulk arguments");
        return NULL;
    }
#define GC(o, v, sz, cnt) if (get_col(o, &v, sz, cnt) < 0) goto done; nb++;
    if (PyObject_GetBuffer(obj, &vb, PyBUF_SIMPLE) < 0)
        return NULL;
    nb = 1;
    GC(ogid, vgid, 4, n) GC(opdir, vpdir, 1, n) GC(opo, vpo, 8, n) GC(ope, vpe, 8, n)
    GC(oapp, vapp, 1, ng) GC(oclient, vcl, 1, ng) GC(oroom, vroom, 8, ng * ncls)
    GC(omb, vmb, 8, 256) GC(odnp, vdnp, 8, 256) GC(os7, vs7, 8, 256)
#undef GC
    handled = PyBytes_FromStringAndSize(NULL, n);
    counts = PyBytes_FromStringAndSize(NULL, ng * ncls * 8);
    if (!handled || !counts)
        goto done;
    {
        const uint8_t *b = (const uint8_t *)vb.buf;
        int64_t size_buf = (int64_t)vb.len;
        const int32_t *gid = (const int32_t *)vgid.buf;
        const uint8_t *pdir = (const uint8_t *)vpdir.buf;
        const int64_t *po = (const int64_t *)vpo.buf, *pe = (const int64_t *)vpe.buf;
        const int8_t *app = (const int8_t *)vapp.buf;
        const uint8_t *client = (const uint8_t *)vcl.buf;
        const int64_t *mb = (const int64_t *)vmb.buf, *dnp = (const int64_t *)vdnp.buf,
                      *s7 = (const int64_t *)vs7.buf;
        uint8_t *h = (uint8_t *)PyBytes_AS_STRING(handled);
        int64_t *cnt = (int64_t *)PyBytes_AS_STRING(counts);
        int64_t *room = (int64_t *)PyMem_Malloc((size_t)(ng * ncls > 0 ? ng * ncls : 1) * 8);
        Py_ssize_t i;
        if (!room) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(room, vroom.buf, (size_t)(ng * ncls) * 8);
        memset(cnt, 0, (size_t)(ng * ncls) * 8);
        for (i = 0; i < n; i++) {
            int32_t g = gid[i];
            int64_t p, size, opi = -2;
            int a;
            h[i] = 0;
            if (g < 0 || g >= ng)
                continue;
            a = app[g];
            p = po[i];
            size = pe[i] - p;
            if (a == 0 || p < 0 || pe[i] > size_buf)
                continue;
            if (a == 1 && size >= 8) {
                if (be16(b, p + 2) == 0 && size == 6 + be16(b, p + 4)) {
                    int64_t code = mb[b[p + 7]];
                    opi = (pdir[i] == client[g] || code == -2) ? code : -1;
                }
            } else if (a == 2 && size >= 13) {
                int64_t data = (int64_t)b[p + 2] - 5;
                if (b[p] == 0x05 && b[p + 1] == 0x64 && data >= 3 &&
                    size == 10 + data + 2 * ((data + 15) / 16) && (b[p + 10] & 0x40)) {
                    int fc = b[p + 12];
                    opi = fc >= 0x81 ? -1 : dnp[fc];
                    if (fc == 2 && data >= 4)
                        opi = -2;
                }
            } else if (a == 3 && size >= 19) {
                if (b[p] == 3 && be16(b, p + 2) == size && b[p + 4] == 2 && b[p + 5] == 0xF0 &&
                    b[p + 7] == 0x32 && be16(b, p + 13) > 0) {
                    int rosctr = b[p + 8];
                    opi = (rosctr == 2 || rosctr == 3) ? -1 : (rosctr == 1 ? s7[b[p + 17]] : -2);
                }
            }
            if (opi == -1) {
                h[i] = 1;
            } else if (opi >= 0 && opi < ncls) {
                int64_t *r = &room[(int64_t)g * ncls + opi];
                if (*r > 0) {
                    (*r)--;
                } else {
                    h[i] = 1;
                    cnt[(int64_t)g * ncls + opi]++;
                }
            }
        }
        PyMem_Free(room);
    }
    res = Py_BuildValue("(OO)", handled, counts);
done:
    Py_XDECREF(handled);
    Py_XDECREF(counts);
    {
        Py_buffer *all[] = {&vb, &vgid, &vpdir, &vpo, &vpe, &vapp, &vcl, &vroom, &vmb, &vdnp, &vs7};
        int k;
        for (k = 0; k < nb; k++)
            PyBuffer_Release(all[k]);
    }
    return res;
}

static PyMethodDef methods[] = {
    {"pcap_chunk", pcap_chunk, METH_VARARGS, "Walk, decode and group up to limit pcap records."},
    {"pcapng_chunk", pcapng_chunk, METH_VARARGS, "Walk, decode and group pcapng blocks."},
    {"pcapng_split", pcapng_split, METH_VARARGS, "Block-aligned split points with state."},
    {"bulk", bulk, METH_VARARGS, "Classify single-PDU Modbus/DNP3/S7comm payloads."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_pcapc", "Native capture scan (see _pcapc.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pcapc(void) { return PyModule_Create(&moddef); }
