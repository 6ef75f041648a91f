/* Native fast path of the recorder: frame runs of plain JSON lines in one call.
 *
 * frame_plain_lines(chunk, pos, end, seq, head, plain, limit, secrets) -> (framed, pos, count)
 *
 * Starting at ``pos`` in ``chunk`` (bytes), take each complete line ('\n'-terminated,
 * before ``end``) that is certainly stored verbatim: at most ``limit`` bytes, valid UTF-8,
 * exactly one RFC 8259 JSON value, and either not an object or an object with no "id"
 * member whose "method" (a string, or None when absent or not a string) is in the set
 * ``plain``. Each such line becomes ``{"seq":N`` + head + line + ``}\n`` with N counting
 * on from ``seq``. Stop at the first line that is not certain; return the framed bytes,
 * the position of the first line not taken, and how many were taken.
 *
 * The rule is "when in doubt, stop": escaped keys, escaped methods, deep nesting and
 * integers long enough to hit CPython's int-parsing limit are left to the Python path
 * (acp_tap.cassette.plainlines.frame_plain_lines_py is the reference this must agree
 * with on every line it takes). The module holds no state.
 *
 * With ``secrets`` true (the default redaction rules are on), a line that might hold a
 * secret (see might_hold_secret below) is not taken either.
 *
 * A line with the shape of one taken just before (the same bytes but for its last string
 * value: streamed chunks) has only that string checked (see same_shape).
 *
 * A range of UNLOCKED bytes or more is scanned and framed without the GIL (the recorder
 * runs in a thread of its own, beside the relay's); it is taken back only to look a
 * method up in ``plain``.
 *
 * might_hold_secret(buffer, start, end) -> bool: whether buffer[start:end] holds an anchor
 * of a default secret rule, a credential name between quotes or before '=', or a \u00XX
 * escape of an ASCII character; its reference is
 * acp_tap.secrets.prefilter.might_hold_secret_py, which it may exceed, never fall short of.
 * The names come from credential_names() (checked against the Python list by the tests).
 *
 * has_control(buffer, start, end) -> bool: whether buffer[start:end] holds a byte below
 * 0x20, in one pass (acp_tap.cassette.longline's check of long lines; its reference is
 * acp_tap.cassette.longline.has_control_py). The GIL is released while it looks.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 200      /* deeper documents are left to Python */
#define MAX_INT_DIGITS 640 /* the lowest non-zero sys.set_int_max_str_digits */

typedef const unsigned char *cursor;

typedef struct {
    cursor p;
    cursor end;
    int depth;
    int secret; /* a string is a credential name, or has a \u00XX escape of ASCII */
    cursor method; /* the top-level "method" string (unescaped), or NULL for None */
    Py_ssize_t method_len;
    cursor value, value_end; /* the last string value's opening quote, and past its closing
                                one (NULL: none, or it was the "method") */
} Scan;

/* The first byte at or after p that needs a closer look inside a string ('"', '\\',
 * a control character or a non-ASCII byte), or end. 16 bytes at a time with SSE2,
 * 8 with plain 64-bit arithmetic elsewhere. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline cursor skip_plain(cursor p, cursor end)
{
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20); /* signed: also catches bytes >= 0x80 */
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                   _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}
#else
static const uint64_t ONES = 0x0101010101010101ULL;
static const uint64_t HIGHS = 0x8080808080808080ULL;

static inline uint64_t has_zero(uint64_t v) { return (v - ONES) & ~v & HIGHS; }

static inline cursor skip_plain(cursor p, cursor end)
{
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (has_zero(w ^ (ONES * '"')) | has_zero(w ^ (ONES * '\\')) |
            ((w - ONES * 0x20) & ~w & HIGHS) | (w & HIGHS))
            break;
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}
#endif

/* ---- the secret prefilter ---------------------------------------------------------- */

static const char *const NAMES[] = {
    "password", "passwd", "secret", "clientsecret", "token", "accesstoken", "refreshtoken",
    "idtoken", "authtoken", "apikey", "xapikey", "authorization", "proxyauthorization",
    "cookie", "setcookie", "privatekey",
};
#define NAME_COUNT ((int)(sizeof(NAMES) / sizeof(NAMES[0])))
#define MAX_STATES 320
#define WINDOW 320 /* acp_tap.secrets.prefilter.WINDOW */

static short trie[MAX_STATES][26]; /* 0: no such prefix (state 0 is the root) */
static char accepting[MAX_STATES];
static unsigned char may_start[256]; /* bytes a credential name may start with: '-', '_', or
                                        a first letter of a name, in either case */
static unsigned char gate[256]; /* 1: a gate byte of gate_hit; 2: one only with `strings` */
static short name_pairs[26][26]; /* the trie state after these two letters (0: no name) */

static void build_trie(void)
{
    int states = 1;
    for (int n = 0; n < NAME_COUNT; n++) {
        int state = 0;
        for (const char *c = NAMES[n]; *c; c++) {
            short *next = &trie[state][*c - 'a'];
            if (!*next)
                *next = (short)states++;
            state = *next;
        }
        accepting[state] = 1;
        may_start[(unsigned char)NAMES[n][0]] = 1;
        may_start[(unsigned char)NAMES[n][0] - 0x20] = 1;
        name_pairs[NAMES[n][0] - 'a'][NAMES[n][1] - 'a'] = trie[trie[0][NAMES[n][0] - 'a']]
                                                                [NAMES[n][1] - 'a'];
    }
    may_start['-'] = may_start['_'] = 1;
    for (const char *c = "ABJG.-kgx=wWzZX"; *c; c++)
        gate[(unsigned char)*c] = 1;
    gate['"'] = gate['\\'] = 2;
}

static inline int name_byte(unsigned char c)
{
    unsigned char l = c | 0x20;
    return c == '-' || c == '_' || (l >= 'a' && l <= 'z');
}

/* Whether the string [p, end) (its closing quote at end) cannot be a credential name: too
 * short, or starting with three letters no name starts with. Cheap; name_run decides. */
static inline int surely_no_name(cursor p, cursor end)
{
    if (end - p < 5)
        return 1;
    unsigned first = (unsigned)(p[0] | 0x20) - 'a', second = (unsigned)(p[1] | 0x20) - 'a';
    unsigned third = (unsigned)(p[2] | 0x20) - 'a';
    if (first >= 26 || second >= 26)
        return 0;
    int state = name_pairs[first][second];
    return !state || (third < 26 && !trie[state][third]);
}

/* Whether the run of [A-Za-z_-] from p is a credential name (lower-cased, without '-' and
 * '_'), ending just before a byte equal to `close`. */
static int name_run(cursor p, cursor end, unsigned char close)
{
    int state = 0;
    for (; p < end; p++) {
        unsigned char c = *p;
        if (c == '-' || c == '_')
            continue;
        unsigned char l = c | 0x20;
        if (l < 'a' || l > 'z')
            break;
        state = trie[state][l - 'a'];
        if (!state)
            return 0;
    }
    return p < end && *p == close && accepting[state];
}

/* Length of the strict UTF-8 sequence at p (what Python's decoder accepts), or 0. */
static Py_ssize_t utf8_sequence(cursor p, cursor end)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    Py_ssize_t left = end - p;
    if (c >= 0xC2 && c <= 0xDF)
        return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3)
            return 0;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4)
            return 0;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4
                                                                                            : 0;
    }
    return 0;
}

static inline int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The rest of a string, p just past its opening quote: the position past the closing
 * quote, or NULL if it is not a valid JSON string. *escaped is set if it has escapes. */
static cursor scan_string(cursor p, cursor end, int *escaped, int *ascii_escape)
{
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end)
            return NULL;
        unsigned char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2)
                return NULL;
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u':
                if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) ||
                    !is_hex(p[5]))
                    return NULL;
                *ascii_escape |= p[2] == '0' && p[3] == '0' && p[4] >= '0' && p[4] <= '7';
                p += 6;
                break;
            default:
                return NULL;
            }
        } else if (c < 0x20) {
            return NULL;
        } else {
            Py_ssize_t n = utf8_sequence(p, end);
            if (!n)
                return NULL;
            p += n;
        }
    }
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static cursor digits(cursor p, cursor end)
{
    while (p < end && is_digit(*p))
        p++;
    return p;
}

static cursor scan_number(cursor p, cursor end)
{
    int integer = 1;
    if (p < end && *p == '-')
        p++;
    cursor start = p;
    if (p >= end || !is_digit(*p))
        return NULL;
    p = *p == '0' ? p + 1 : digits(p, end);
    Py_ssize_t int_digits = p - start;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        p = digits(p, end);
        integer = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        p = digits(p, end);
        integer = 0;
    }
    if (integer && int_digits > MAX_INT_DIGITS)
        return NULL;
    return p;
}

static inline void skip_space(Scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
}

static int scan_value(Scan *s);

static int literal(Scan *s, const char *word, Py_ssize_t size)
{
    if (s->end - s->p < size || memcmp(s->p, word, (size_t)size) != 0)
        return 0;
    s->p += size;
    return 1;
}

static int string_value(Scan *s, int *escaped)
{
    cursor start = s->p + 1;
    int here = 0, ascii_escape = 0;
    s->p = scan_string(start, s->end, &here, &ascii_escape);
    if (s->p == NULL)
        return 0;
    *escaped |= here;
    if (ascii_escape || (!here && may_start[*start] && !surely_no_name(start, s->p - 1) &&
                         name_run(start, s->p, '"')))
        s->secret = 1;
    return 1;
}

/* Whether the container just opened closes at once: blanks, then `close` (taken). */
static int closes_at_once(Scan *s, char close)
{
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

/* After a member or element: 1 if a ',' follows (taken, with the blanks after it), 0 if
 * `close` does (taken), -1 if anything else does. */
static int separator(Scan *s, char close)
{
    skip_space(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == close) {
        s->p++;
        return 0;
    }
    if (*s->p != ',')
        return -1;
    s->p++;
    skip_space(s);
    return 1;
}

/* An object's members, s->p just past '{'. At the top level, an "id" member or any
 * escaped key stops the line, and the last "method" member is remembered. */
static int scan_object(Scan *s)
{
    int top = s->depth == 1;
    if (closes_at_once(s, '}'))
        return 1;
    for (;;) {
        int escaped = 0, is_method = 0;
        if (s->p >= s->end || *s->p != '"')
            return 0;
        cursor key = s->p + 1;
        if (!string_value(s, &escaped))
            return 0;
        if (top) {
            Py_ssize_t size = s->p - 1 - key;
            if (escaped || (size == 2 && memcmp(key, "id", 2) == 0))
                return 0;
            is_method = size == 6 && memcmp(key, "method", 6) == 0;
        }
        skip_space(s);
        if (s->p >= s->end || *s->p != ':')
            return 0;
        s->p++;
        skip_space(s);
        if (is_method && s->p < s->end && *s->p == '"') {
            cursor method = s->p + 1;
            if (!string_value(s, &escaped) || escaped)
                return 0;
            s->method = method;
            s->value = NULL;
            s->method_len = s->p - 1 - method;
        } else {
            if (!scan_value(s))
                return 0;
            if (is_method)
                s->method = NULL; /* not a string: Python sees no method */
        }
        int more = separator(s, '}');
        if (more <= 0)
            return more == 0;
    }
}

static int scan_array(Scan *s)
{
    if (closes_at_once(s, ']'))
        return 1;
    for (;;) {
        if (!scan_value(s))
            return 0;
        int more = separator(s, ']');
        if (more <= 0)
            return more == 0;
    }
}

static int scan_value(Scan *s)
{
    int escaped = 0, ok;
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return 0;
        s->p++;
        ok = s->p[-1] == '{' ? scan_object(s) : scan_array(s);
        s->depth--;
        return ok;
    case '"':
        s->value = s->p;
        if (!string_value(s, &escaped))
            return 0;
        s->value_end = s->p;
        return 1;
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        s->p = scan_number(s->p, s->end);
        return s->p != NULL;
    }
}

/* Whether the line at s->p is exactly one JSON value (with optional blanks around it)
 * followed by '\n' before s->end; s->p is left on that '\n'. */
static int scan_line(Scan *s)
{
    skip_space(s);
    if (!scan_value(s))
        return 0;
    skip_space(s);
    return s->p < s->end && *s->p == '\n';
}

/* Whether lit (n bytes; letters in lower case) is at p, within [base, end); `fold`: any case. */
static inline int at(cursor base, cursor end, cursor p, const char *lit, Py_ssize_t n, int fold)
{
    if (p < base || end - p < n)
        return 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        unsigned char c = p[k], want = (unsigned char)lit[k];
        if (c != want && !(fold && want >= 'a' && want <= 'z' && (c | 0x20) == want))
            return 0;
    }
    return 1;
}
#define AT(p, lit) at(base, end, (p), lit, (Py_ssize_t)sizeof(lit) - 1, 0)
#define AT_CI(p, lit) at(base, end, (p), lit, (Py_ssize_t)sizeof(lit) - 1, 1)

static int aws_key_id(cursor base, cursor end, cursor p)
{
    int prefix = (AT(p, "A3T") && end - p > 3 &&
                  ((p[3] >= 'A' && p[3] <= 'Z') || (p[3] >= '0' && p[3] <= '9'))) ||
                 AT(p, "AKIA") || AT(p, "ASIA") || AT(p, "ABIA") || AT(p, "ACCA");
    if (!prefix || end - p < 20)
        return 0;
    for (int k = 4; k < 20; k++)
        if (!((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '2' && p[k] <= '7')))
            return 0;
    return 1;
}

/* "aws" at p: a keyword and a delimiter must start within WINDOW bytes after it. */
static int aws_context(cursor base, cursor end, cursor p)
{
    if (!AT_CI(p, "aws"))
        return 0;
    cursor from = p + 3, last = end - from > WINDOW ? from + WINDOW : end;
    int keyword = 0, delimiter = 0;
    for (cursor q = from; q <= last && q < end; q++) {
        unsigned char c = *q;
        delimiter |= c == '"' || c == '\'' || c == '=' || c == ':';
        keyword |= AT_CI(q, "key") || AT_CI(q, "pw") || AT_CI(q, "pass") || AT_CI(q, "token");
        if (keyword && delimiter)
            return 1;
    }
    return 0;
}

/* The GitLab token prefixes (all start with "gl"). */
static const char *const GITLAB[] = {"glpat-", "glptt-", "gldt-", "glrt-", "glsoat-", "glcbt-",
                                     "glffct-", "glft-", "glimt-", "glagent-", "gloas-"};

/* A 'g' starting gh[pousr]_, github_pat_, a GitLab prefix, or the g of _gitlab_session=. */
static int g_anchor(cursor base, cursor end, cursor p)
{
    Py_ssize_t ahead = end - p;
    if (ahead < 4)
        return 0;
    if (p[1] == 'h')
        return p[2] && strchr("pousr", p[2]) != NULL && p[3] == '_';
    if (p[1] == 'i')
        return AT(p, "github_pat_") || (p > base && AT(p - 1, "_gitlab_session="));
    if (p[1] != 'l')
        return 0;
    for (size_t n = 0; n < sizeof(GITLAB) / sizeof(GITLAB[0]); n++)
        if (at(base, end, p, GITLAB[n], (Py_ssize_t)strlen(GITLAB[n]), 0))
            return 1;
    return 0;
}

static int parameter(cursor base, cursor end, cursor p)
{
    cursor start = p;
    while (start > base && name_byte(start[-1]))
        start--;
    return start < p && name_run(start, end, '=');
}

/* Whether the gate byte at p starts something a secret rule (or a key name) needs. Each
 * anchor has one gate byte, in it (so a hit is in the anchor's line); PAIRS (below) lists
 * the neighbours each gate byte needs, for the AVX2 search. */
static inline __attribute__((always_inline)) int gate_hit(cursor base, cursor end, cursor p)
{
    Py_ssize_t back = p - base, ahead = end - p;
    switch (*p) {
    case 'A':
        return ahead > 3 && (AT(p, "AIza") || aws_key_id(base, end, p));
    case 'B':
        return ahead > 4 && (AT(p, "Bearer") || AT(p, "Basic"));
    case 'J':
        return back >= 7 && AT(p - 7, "T3BlbkFJ");
    case 'G':
        return ahead > 8 && p[1] == 'R' && AT(p, "GR1348941");
    case '.':
        return (ahead > 2 && p[1] == 'e' && p[2] == 'y') ||
               (back >= 5 && p[-5] == 'h' && AT(p - 5, "hooks.slack.com"));
    case '-':
        return ahead > 1 && p[1] == '-' && AT_CI(p, "-----begin");
    case 'k':
        return back >= 1 && p[-1] == 's' && AT(p - 1, "sk-ant-");
    case 'g':
        return g_anchor(base, end, p);
    case 'x':
    case 'X':
        return AT_CI(p, "xapp-") || (AT_CI(p, "xox") && ahead > 4 && p[4] == '-');
    case '=':
        return parameter(base, end, p);
    case '"':
        return ahead > 1 && may_start[p[1]] && name_run(p + 1, end, '"');
    case '\\':
        return AT(p, "\\u00") && ahead >= 6 && p[4] >= '0' && p[4] <= '7' && is_hex(p[5]);
    case 'w':
    case 'W':
        return back >= 1 && (p[-1] | 0x20) == 'a' && aws_context(base, end, p - 1);
    case 'z':
    case 'Z':
        return back >= 7 && (p[-7] | 0x20) == 'a' && AT_CI(p - 7, "authorization");
    default:
        return 0;
    }
}

/* The first gate byte in [p, to) that hits, checked within the whole buffer [base, end),
 * or NULL. */
static cursor scan_bytes(cursor base, cursor end, cursor p, cursor to, int strings)
{
    int wanted = strings ? 3 : 1;
    for (; p < to; p++)
        if ((gate[*p] & wanted) && gate_hit(base, end, p))
            return p;
    return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_SCAN 1

/* The gate search, 32 bytes at a time with AVX2, keeps a gate byte only where a neighbour
 * fits one of its anchors, so that gate_hit rarely runs on ordinary text or on base64.
 * Each pair class below is one bit: a byte is kept if it is in `gates` and the byte after
 * it is in `next` or the byte before it in `prev` (NULL: none; ANY: every byte). Each set
 * is looked up by nibbles, two table lookups (pshufb) per set, so it stands for the
 * product of its low and high nibbles: a superset, never fewer bytes. The classes with
 * `strings` are only searched for with `strings`. */
#define ANY ((const char *)1)
#define NAME_START ((const char *)2) /* the bytes of may_start */
typedef struct {
    int bit, strings;
    const char *gates, *next, *prev;
} PairClass;

static const PairClass PAIRS[] = {
    {0, 0, "wWzZ", NULL, "aAiI"},    /* aws (the a before the w), authorization (iz) */
    {1, 0, "JG", "R", "F"},          /* T3BlbkFJ, GR1348941 */
    {1, 1, "\"", NAME_START, NULL},  /* a credential name between quotes */
    {1, 1, "\\", "u", NULL},         /* \u00XX */
    {2, 0, "AB", "IKSBC3ea", NULL},  /* AIza, A3T., AKIA, ASIA, ABIA, ACCA; Bearer, Basic */
    {3, 0, "xX", "oOaA", NULL},      /* xox.-, xapp- */
    {4, 0, ".", "e", "s"},           /* .ey, hooks.slack.com */
    {5, 0, "k-", "-", NULL},         /* sk-ant-, -----begin */
    {6, 0, "g", "hil", NULL},        /* gh[pousr]_, github_pat_, gl...-, _gitlab_session= */
    {7, 0, "=", NULL, ANY},          /* a credential name before '=' */
};

enum { GATE_LO, GATE_HI, NEXT_LO, NEXT_HI, PREV_LO, PREV_HI, TABLES };
static unsigned char pair_tables[2][TABLES][16]; /* [strings][table][nibble]: class bits */

static void add_set(unsigned char (*tables)[16], int table, const char *set, unsigned char bit)
{
    for (int c = 0; c < 256; c++) {
        int in = set == ANY || (set == NAME_START && may_start[c]) ||
                 (set != NULL && set != NAME_START && c && strchr(set, c) != NULL);
        if (in) {
            tables[table][c & 15] |= bit;
            tables[table + 1][c >> 4] |= bit;
        }
    }
}

static void build_pair_tables(void)
{
    for (int strings = 0; strings < 2; strings++)
        for (size_t n = 0; n < sizeof(PAIRS) / sizeof(PAIRS[0]); n++) {
            const PairClass *pair = &PAIRS[n];
            if (pair->strings && !strings)
                continue;
            unsigned char bit = (unsigned char)(1 << pair->bit);
            add_set(pair_tables[strings], GATE_LO, pair->gates, bit);
            add_set(pair_tables[strings], NEXT_LO, pair->next, bit);
            add_set(pair_tables[strings], PREV_LO, pair->prev, bit);
        }
}

/* The first gate byte in [p, end - 32) that hits (*found set), else where the search
 * stopped (the rest is for scan_bytes). Reads p[-1] to p[32]: p > base. */
__attribute__((target("avx2"))) static cursor scan_avx2(cursor base, cursor end, cursor p,
                                                         int strings, int *found)
{
#define TABLE(k) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tables[k]))
#define NIBBLES(v, k)                                                                        \
    _mm256_and_si256(_mm256_shuffle_epi8(TABLE(k), _mm256_and_si256((v), low)),             \
                     _mm256_shuffle_epi8(TABLE(k + 1),                                       \
                                         _mm256_and_si256(_mm256_srli_epi16((v), 4), low)))
    const unsigned char(*tables)[16] = pair_tables[strings != 0];
    const __m256i low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    int wanted = strings ? 3 : 1;
    *found = 0;
    for (; end - p >= 33; p += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)p);
        __m256i next = _mm256_loadu_si256((const __m256i *)(p + 1));
        __m256i prev = _mm256_loadu_si256((const __m256i *)(p - 1));
        __m256i kept = _mm256_and_si256(NIBBLES(x, GATE_LO),
                                        _mm256_or_si256(NIBBLES(next, NEXT_LO),
                                                        NIBBLES(prev, PREV_LO)));
        if (_mm256_testz_si256(kept, kept))
            continue;
        unsigned mask = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(kept, zero));
        while (mask) {
            cursor hit = p + __builtin_ctz(mask);
            if ((gate[*hit] & wanted) && gate_hit(base, end, hit)) {
                *found = 1;
                return hit;
            }
            mask &= mask - 1;
        }
    }
    return p;
#undef TABLE
#undef NIBBLES
}
#endif

/* Where [base, end) first might hold a secret (NULL: nowhere): anchors always; credential
 * names between quotes and \u00XX escapes only with `strings` (the JSON scanner checks
 * those itself). */
static cursor secret_find(cursor base, cursor end, int strings)
{
    cursor p = base;
#ifdef HAVE_AVX2_SCAN
    static int avx2 = -1;
    if (avx2 < 0)
        avx2 = __builtin_cpu_supports("avx2");
    if (avx2 && end - base >= 34) {
        int found;
        cursor at = scan_bytes(base, end, base, base + 1, strings);
        if (at != NULL)
            return at;
        p = scan_avx2(base, end, base + 1, strings, &found);
        if (found)
            return p;
    }
#endif
    return scan_bytes(base, end, p, end, strings);
}

static int secret_hint(cursor base, cursor end) { return secret_find(base, end, 1) != NULL; }

typedef struct {
    PyObject *plain;
    PyObject *last; /* bytes of the last method looked up, and whether it was plain */
    int last_plain;
    PyThreadState *released; /* the GIL was released (by frame_plain_lines): the state */
} Methods;

/* Whether a line with this method is stored verbatim: 1 yes, 0 no, -1 error. Takes the GIL
 * back for the set lookup if it was released. */
static int is_plain(Methods *m, cursor method, Py_ssize_t size)
{
    if (method != NULL && m->last != NULL && PyBytes_GET_SIZE(m->last) == size &&
        memcmp(PyBytes_AS_STRING(m->last), method, (size_t)size) == 0)
        return m->last_plain;
    if (m->released != NULL)
        PyEval_RestoreThread(m->released);
    int found;
    if (method == NULL) {
        found = PySet_Contains(m->plain, Py_None);
    } else {
        PyObject *key = PyBytes_FromStringAndSize((const char *)method, size);
        found = key == NULL ? -1 : PySet_Contains(m->plain, key);
        if (found < 0)
            Py_XDECREF(key);
        else {
            Py_XSETREF(m->last, key);
            m->last_plain = found;
        }
    }
    if (m->released != NULL)
        m->released = PyEval_SaveThread();
    return found;
}

static int digit_count(long long n)
{
    int count = 1;
    while (n >= 10) {
        n /= 10;
        count++;
    }
    return count;
}

static char *write_seq(char *out, long long seq)
{
    char reversed[24];
    int n = 0;
    do {
        reversed[n++] = (char)('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (n)
        *out++ = reversed[--n];
    return out;
}

typedef struct {
    Py_ssize_t start, size; /* the line, without its '\n' */
} Line;

typedef struct {
    Line *items;
    Py_ssize_t count, capacity;
} Lines;

#define SECRET_WINDOW ((Py_ssize_t)1 << 16) /* bytes the secret scan looks ahead at once */

/* What is known of the secret scan of a run of lines: [from, to) was scanned, starting at a
 * line's start, and its first hit is `hit` (NULL: none in it). */
typedef struct {
    cursor to, hit;
} Secrets;

/* Whether the line [line, line_end) might hold a secret, scanning ahead from its start by
 * windows (each begins at a line's start, so every line is checked with all its bytes in
 * context, as if alone; a window only adds context, hence hits, never removes one). */
static int line_might_hold_secret(Secrets *seen, cursor line, cursor line_end, cursor end)
{
    if (seen->hit == NULL && seen->to < line_end) {
        cursor to = end - line > SECRET_WINDOW ? line + SECRET_WINDOW : end;
        seen->to = to > line_end ? to : line_end;
        seen->hit = secret_find(line, seen->to, 0);
    }
    return seen->hit != NULL && seen->hit < line_end;
}

/* A line taken, as a shape for the lines after it: its bytes up to its last string value
 * (`value`: the opening quote's offset), and after that value (`value_end` to `size`, where
 * its '\n' is) nothing but blanks and closing brackets. */
typedef struct {
    cursor line;
    Py_ssize_t value, value_end, size;
    cursor method; /* as in Scan */
    Py_ssize_t method_len;
} Shape;

#define SHAPES 4 /* shapes remembered (streamed chunks of a few kinds interleave) */

/* Whether the line of s->p has the shape of a line taken before: the same bytes up to that
 * line's last string value, then any valid string, then the same closing bytes and '\n'.
 * Such a line is valid JSON with the same structure, "method" and keys, so only its new
 * string needs checking (and, as any string, for a credential name); s is then filled in
 * as scan_line would have. Streamed session/update chunks differ from each other only in
 * their text, so most are checked this way: the bytes before the text are compared, not
 * parsed. */
static int same_shape(Shape *shapes, Scan *s)
{
    cursor line = s->p;
    for (int k = 0; k < SHAPES; k++) {
        const Shape *shape = &shapes[k];
        if (shape->line == NULL)
            break;
        if (s->end - line <= shape->value + 1 ||
            memcmp(line, shape->line, (size_t)shape->value + 1) != 0) /* with the quote */
            continue;
        cursor start = line + shape->value + 1;
        int escaped = 0, ascii_escape = 0;
        cursor closed = scan_string(start, s->end, &escaped, &ascii_escape);
        Py_ssize_t tail = shape->size - shape->value_end;
        if (closed == NULL || s->end - closed <= tail ||
            memcmp(closed, shape->line + shape->value_end, (size_t)tail) != 0 ||
            closed[tail] != '\n')
            continue;
        s->p = closed + tail;
        s->secret = ascii_escape || (!escaped && may_start[*start] &&
                                     !surely_no_name(start, closed - 1) &&
                                     name_run(start, closed, '"'));
        s->method = shape->method == NULL ? NULL : line + (shape->method - shape->line);
        s->method_len = shape->method_len;
        if (k) { /* the newest first: lines of one kind come in runs */
            Shape found = *shape;
            memmove(&shapes[1], &shapes[0], (size_t)k * sizeof(Shape));
            shapes[0] = found;
        }
        return 1;
    }
    return 0;
}

/* Remember a line taken (s scanned it, from line) as the newest shape, if it has one (a
 * line of a shape remembered already was taken by same_shape, not scanned). */
static void remember_shape(Shape *shapes, const Scan *s, cursor line)
{
    if (s->value == NULL)
        return;
    for (cursor q = s->value_end; q < s->p; q++)
        if (*q != '}' && *q != ']' && *q != ' ' && *q != '\t')
            return;
    memmove(&shapes[1], &shapes[0], (SHAPES - 1) * sizeof(Shape));
    shapes[0] = (Shape){line, s->value - line, s->value_end - line, s->p - line, s->method,
                        s->method_len};
}

/* Scan the lines from pos on, stopping at the first that is not stored verbatim: not
 * certainly one JSON document, a method not in `methods`, or (with `secrets`) a line that
 * might hold a secret. 0; -1 on error (a Python exception is set); -2 out of memory (none
 * set: the GIL may be released). */
static int scan_lines(const char *base, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t limit,
                      Methods *methods, int secrets, Lines *lines)
{
    Secrets seen = {(cursor)base + pos, NULL};
    Shape shapes[SHAPES] = {{NULL, 0, 0, 0, NULL, 0}};
    while (pos < end) {
        const char *line = base + pos;
        /* a line of at most limit bytes ends by line + limit; nothing scanned crosses '\n' */
        const char *stop = end - pos > limit ? line + limit + 1 : base + end;
        Scan s = {(cursor)line, (cursor)stop, 0, 0, NULL, 0, NULL, NULL};
        if (!same_shape(shapes, &s) && !scan_line(&s))
            return 0;
        int verbatim = is_plain(methods, s.method, s.method_len);
        if (verbatim < 0)
            return -1;
        if (verbatim && secrets)
            verbatim = !s.secret && !line_might_hold_secret(&seen, (cursor)line, s.p,
                                                            (cursor)base + end);
        if (!verbatim)
            return 0;
        if (lines->count == lines->capacity) {
            Py_ssize_t capacity = lines->capacity ? 2 * lines->capacity : 1024;
            Line *items = realloc(lines->items, (size_t)capacity * sizeof(Line));
            if (items == NULL)
                return -2; /* out of memory (the caller says so, holding the GIL) */
            lines->items = items;
            lines->capacity = capacity;
        }
        Py_ssize_t size = (const char *)s.p - line;
        lines->items[lines->count++] = (Line){pos, size};
        remember_shape(shapes, &s, (cursor)line);
        pos += size + 1;
    }
    return 0;
}

/* Write the frames of lines[0:count] into out (sized for them exactly). */
static void write_frames(char *out, const char *base, const Line *lines, Py_ssize_t count,
                         long long seq, const char *head, Py_ssize_t head_size)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(out, "{\"seq\":", 7);
        out = write_seq(out + 7, ++seq);
        memcpy(out, head, (size_t)head_size);
        out += head_size;
        memcpy(out, base + lines[i].start, (size_t)lines[i].size);
        out += lines[i].size;
        out[0] = '}';
        out[1] = '\n';
        out += 2;
    }
}

#define UNLOCKED ((Py_ssize_t)1 << 14) /* chunks this long are scanned without the GIL */

static PyObject *frame_plain_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "frame_plain_lines takes 8 arguments");
        return NULL;
    }
    PyObject *chunk = args[0], *head = args[4], *plain = args[5];
    if (!PyBytes_CheckExact(chunk) || !PyBytes_CheckExact(head) || !PyAnySet_Check(plain)) {
        PyErr_SetString(PyExc_TypeError,
                        "frame_plain_lines(bytes, int, int, int, bytes, set, int, bool)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    long long seq = PyLong_AsLongLong(args[3]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[6]);
    int secrets = PyObject_IsTrue(args[7]);
    if (secrets < 0 || PyErr_Occurred())
        return NULL;
    if (pos < 0 || end < pos || end > PyBytes_GET_SIZE(chunk) || seq < 0 || limit < 0) {
        PyErr_SetString(PyExc_ValueError, "frame_plain_lines: need 0 <= pos <= end <= len(chunk)");
        return NULL;
    }
    const char *base = PyBytes_AS_STRING(chunk);
    const char *head_bytes = PyBytes_AS_STRING(head);
    Py_ssize_t head_size = PyBytes_GET_SIZE(head);
    Lines lines = {NULL, 0, 0};
    Methods methods = {plain, NULL, 0, NULL};
    int unlocked = end - pos >= UNLOCKED;
    if (unlocked)
        methods.released = PyEval_SaveThread();
    int failed = scan_lines(base, pos, end, limit, &methods, secrets, &lines);
    if (unlocked)
        PyEval_RestoreThread(methods.released);
    if (failed == -2)
        PyErr_NoMemory();
    Py_XDECREF(methods.last);
    if (failed) {
        free(lines.items);
        return NULL;
    }
    Py_ssize_t count = lines.count, size = 0;
    for (Py_ssize_t i = 0; i < count; i++)
        size += 7 + digit_count(seq + i + 1) + head_size + lines.items[i].size + 2;
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        free(lines.items);
        return NULL;
    }
    if (unlocked) {
        Py_BEGIN_ALLOW_THREADS
        write_frames(PyBytes_AS_STRING(out), base, lines.items, count, seq, head_bytes, head_size);
        Py_END_ALLOW_THREADS
    } else {
        write_frames(PyBytes_AS_STRING(out), base, lines.items, count, seq, head_bytes, head_size);
    }
    if (count)
        pos = lines.items[count - 1].start + lines.items[count - 1].size + 1;
    free(lines.items);
    return Py_BuildValue("(Nnn)", out, pos, count);
}

/* Whether [p, end) holds a byte below 0x20. */
static int any_control(cursor p, cursor end)
{
#if defined(__SSE2__)
    const __m128i top = _mm_set1_epi8(0x1f);
    while (end - p >= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + 48));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(a, top), a),
                         _mm_cmpeq_epi8(_mm_min_epu8(b, top), b)),
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(c, top), c),
                         _mm_cmpeq_epi8(_mm_min_epu8(d, top), d)));
        if (_mm_movemask_epi8(hit))
            return 1;
        p += 64;
    }
#else
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if ((w - ONES * 0x20) & ~w & HIGHS)
            return 1;
        p += 8;
    }
#endif
    for (; p < end; p++)
        if (*p < 0x20)
            return 1;
    return 0;
}

/* Whether [p, end) holds a byte outside the base64 alphabet and '=' ([A-Za-z0-9+/=]). */
static int any_non_base64(cursor p, cursor end)
{
#if defined(__SSE2__)
    const __m128i upper = _mm_set1_epi8('A'), lower = _mm_set1_epi8('a');
    const __m128i digit = _mm_set1_epi8('0'), letters = _mm_set1_epi8(25);
    const __m128i digits = _mm_set1_epi8(9);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i u = _mm_sub_epi8(x, upper), l = _mm_sub_epi8(x, lower);
        __m128i d = _mm_sub_epi8(x, digit);
        __m128i ok = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(u, letters), u),
                         _mm_cmpeq_epi8(_mm_min_epu8(l, letters), l)),
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, digits), d),
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('+')),
                                                   _mm_cmpeq_epi8(x, _mm_set1_epi8('/'))),
                                      _mm_cmpeq_epi8(x, _mm_set1_epi8('=')))));
        if (_mm_movemask_epi8(ok) != 0xFFFF)
            return 1;
        p += 16;
    }
#endif
    for (; p < end; p++) {
        unsigned char c = *p, l = c | 0x20;
        if (!((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '='))
            return 1;
    }
    return 0;
}

/* Parse (buffer, start, end), clamp the range and answer whether `scan` finds something in
 * it, without the GIL when it is longer than `unlocked` bytes. */
static PyObject *scan_buffer(PyObject *args, const char *format, int (*scan)(cursor, cursor),
                             Py_ssize_t unlocked)
{
    Py_buffer view;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, format, &view, &start, &end))
        return NULL;
    if (start < 0)
        start = 0;
    if (end > view.len)
        end = view.len;
    int found = 0;
    if (start < end) {
        cursor p = (cursor)view.buf + start, stop = (cursor)view.buf + end;
        if (end - start > unlocked) {
            Py_BEGIN_ALLOW_THREADS
            found = scan(p, stop);
            Py_END_ALLOW_THREADS
        } else {
            found = scan(p, stop);
        }
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyObject *has_control(PyObject *module, PyObject *args)
{
    (void)module;
    return scan_buffer(args, "y*nn:has_control", any_control, 0);
}

static PyObject *non_base64(PyObject *module, PyObject *args)
{
    (void)module;
    return scan_buffer(args, "y*nn:non_base64", any_non_base64, 1 << 16);
}

static PyObject *might_hold_secret(PyObject *module, PyObject *args)
{
    (void)module;
    return scan_buffer(args, "y*nn:might_hold_secret", secret_hint, 1 << 16);
}

static PyObject *credential_names(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyObject *names = PyFrozenSet_New(NULL);
    for (int n = 0; names != NULL && n < NAME_COUNT; n++) {
        PyObject *name = PyUnicode_FromString(NAMES[n]);
        if (name == NULL || PySet_Add(names, name) < 0) {
            Py_XDECREF(name);
            Py_CLEAR(names);
            break;
        }
        Py_DECREF(name);
    }
    return names;
}

static PyMethodDef plainlines_methods[] = {
    {"might_hold_secret", might_hold_secret, METH_VARARGS,
     "Whether buffer[start:end] might hold something the default secret rules redact."},
    {"credential_names", credential_names, METH_NOARGS,
     "The credential key names the prefilter knows."},
    {"non_base64", non_base64, METH_VARARGS,
     "Whether buffer[start:end] holds a byte outside [A-Za-z0-9+/=]."},
    {"has_control", has_control, METH_VARARGS,
     "Whether buffer[start:end] holds a byte below 0x20."},
    {"frame_plain_lines", (PyCFunction)(void (*)(void))frame_plain_lines, METH_FASTCALL,
     "Frame a run of lines that are stored verbatim: (framed, pos, count)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef plainlines_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_plainlines",
    .m_doc = "Native fast path of acp_tap.cassette.plainlines.",
    .m_size = -1,
    .m_methods = plainlines_methods,
};

PyMODINIT_FUNC PyInit__plainlines(void)
{
    build_trie();
#ifdef HAVE_AVX2_SCAN
    build_pair_tables();
#endif
    return PyModule_Create(&plainlines_module);
}
