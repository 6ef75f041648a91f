/* Native fast path of the cassette readers: split frame lines in the writer's own layout.
 *
 * scan_frames(data, pos, max_frames, last_seq) -> (frames, pos)
 *
 * From ``pos`` (the start of a line) in ``data`` (bytes), take each line that is a frame
 * in the usual layout, exactly what acp_tap.cassette.framelines.FRAME matches:
 *
 *     {"seq":N,"t":T,"dir":"c2a|a2c|err"[,"eol":"crlf|none"],"msg":RAW}  then \n or \r\n
 *
 * whose sequence number is above the previous one (``last_seq`` for the first), whose
 * time is finite, and whose RAW is one JSON document as Python's json module reads it
 * (no NaN or Infinity), in strict UTF-8, nesting arrays and objects at most MAX_DEPTH
 * deep; and make it a tuple (seq, t, dir, eol, raw, id, method, sessionId): seq an int,
 * t a float (as float() reads it), dir and eol bytes (eol None when absent), raw the
 * message's bytes, and the last three the FAST_ENVELOPE groups read from the start of raw
 * (None where absent). Stop at the first other line, or after max_frames; return the
 * tuples and the position of the first line not taken. Holds no state.
 *
 * acp_tap.cassette.framelines.scan_frames_py is the reference: both give the same tuples.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_SEQ_DIGITS 18 /* longer sequence numbers are left to the slow path */
#define MAX_DEPTH 500      /* acp_tap.cassette.codec.MAX_DEPTH */
#define SHORT_INT 640      /* sys.get_int_max_str_digits() is 0 or at least this */

typedef const char *cursor;

static PyObject *DIRECTIONS[3]; /* b"c2a", b"a2c", b"err" */
static PyObject *EOLS[2];       /* b"crlf", b"none" */

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

static cursor digits(cursor p, cursor end)
{
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* p past a literal, or NULL */
static cursor literal(cursor p, cursor end, const char *text, size_t size)
{
    if ((size_t)(end - p) < size || memcmp(p, text, size) != 0)
        return NULL;
    return p + size;
}

/* The end of the integer part `0|[1-9]\d*` at p, or NULL. */
static cursor integer(cursor p, cursor end)
{
    if (p < end && *p == '0')
        return p + 1;
    cursor q = digits(p, end);
    return q == p ? NULL : q;
}

/* The end of the number `(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?` at p, or NULL; *is_int
 * says whether it has neither fraction nor exponent. */
static cursor number(cursor p, cursor end, int *is_int)
{
    cursor q = integer(p, end);
    if (q == NULL)
        return NULL;
    *is_int = 1;
    if (q < end && *q == '.' && q + 1 < end && is_digit(q[1]))
        q = digits(q + 1, end), *is_int = 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        cursor r = q + 1;
        if (r < end && (*r == '+' || *r == '-'))
            r++;
        if (r < end && is_digit(*r))
            q = digits(r, end), *is_int = 0;
    }
    return q;
}

/* -- a JSON validator: what json.loads accepts, in strict UTF-8, at most MAX_DEPTH deep -- */

static cursor space(cursor p, cursor end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static inline int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int continuation(cursor p, cursor end, int n)
{
    for (int i = 0; i < n; i++)
        if (p + i >= end || ((unsigned char)p[i] & 0xC0) != 0x80)
            return 0;
    return 1;
}

/* The end of the UTF-8 sequence starting with a byte >= 0x80 at p (strict, as Python's
 * decoder: no overlong forms, no surrogates, nothing above U+10FFFF), or NULL. */
static cursor utf8(cursor p, cursor end)
{
    unsigned char c = (unsigned char)*p;
    unsigned char lo = 0x80, hi = 0xBF;
    int n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return NULL;
    if (p + 1 >= end || (unsigned char)p[1] < lo || (unsigned char)p[1] > hi)
        return NULL;
    return continuation(p + 2, end, n - 1) ? p + 1 + n : NULL;
}

/* The end of the JSON string at p (its opening quote), or NULL. */
static cursor string(cursor p, cursor end)
{
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (p + 1 >= end)
                return NULL;
            c = (unsigned char)p[1];
            if (c == 'u') {
                if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) ||
                    !is_hex(p[5]))
                    return NULL;
                p += 6;
            } else if (strchr("\"\\/bfnrt", c) != NULL && c != 0)
                p += 2;
            else
                return NULL;
        } else if (c < 0x20)
            return NULL;
        else if (c < 0x80)
            p++;
        else if ((p = utf8(p, end)) == NULL)
            return NULL;
    }
    return NULL;
}

/* Whether the integer [p, q) is one Python's int() reads under the digit limit: 1, 0, or
 * -1 with an exception set. */
static int int_fits(cursor p, cursor q)
{
    if (q - p <= SHORT_INT)
        return 1;
    PyObject *text = PyBytes_FromStringAndSize(p, q - p); /* NUL-terminated */
    if (text == NULL)
        return -1;
    PyObject *value = PyLong_FromString(PyBytes_AS_STRING(text), NULL, 10);
    Py_DECREF(text);
    if (value != NULL) {
        Py_DECREF(value);
        return 1;
    }
    if (!PyErr_ExceptionMatches(PyExc_ValueError))
        return -1;
    PyErr_Clear();
    return 0;
}

/* The end of the scalar (string, number, literal) at p, or NULL; NULL with an exception
 * set on error. */
static cursor scalar(cursor p, cursor end)
{
    if (*p == '"')
        return string(p, end);
    if (*p == 't')
        return literal(p, end, "true", 4);
    if (*p == 'f')
        return literal(p, end, "false", 5);
    if (*p == 'n')
        return literal(p, end, "null", 4);
    cursor start = *p == '-' ? p + 1 : p;
    int is_int;
    cursor q = number(start, end, &is_int);
    if (q == NULL || !is_int)
        return q;
    int fits = int_fits(start, q);
    return fits > 0 ? q : NULL;
}

/* Whether [p, end) is one JSON document: 1, 0, or -1 with an exception set. */
static int json_valid(cursor p, cursor end)
{
    char closers[MAX_DEPTH];
    int depth = 0;
    p = space(p, end);
    for (;;) { /* at a value */
        if (p >= end)
            return 0;
        if (*p == '[' || *p == '{') {
            if (depth == MAX_DEPTH)
                return 0;
            closers[depth++] = *p == '[' ? ']' : '}';
            p = space(p + 1, end);
            if (p < end && *p == closers[depth - 1]) {
                p++, depth--;
            } else if (closers[depth - 1] == '}')
                goto key;
            else
                continue;
        } else if ((p = scalar(p, end)) == NULL)
            return PyErr_Occurred() ? -1 : 0;
        for (;;) { /* after a value */
            p = space(p, end);
            if (depth == 0)
                return p == end;
            if (p < end && *p == closers[depth - 1]) {
                p++, depth--;
                continue;
            }
            if (p >= end || *p != ',')
                return 0;
            p = space(p + 1, end);
            if (closers[depth - 1] == ']')
                break;
        key:
            if (p >= end || *p != '"' || (p = string(p, end)) == NULL)
                return 0;
            p = space(p, end);
            if (p >= end || *p != ':')
                return 0;
            p = space(p + 1, end);
            break;
        }
    }
}

/* `"[^"\\]*"` at p: the end past the closing quote, or NULL; its content goes in from, to. */
static cursor plain_string(cursor p, cursor end, cursor *from, cursor *to)
{
    if (p >= end || *p != '"')
        return NULL;
    cursor q = p + 1;
    while (q < end && *q != '"' && *q != '\\')
        q++;
    if (q >= end || *q != '"')
        return NULL;
    *from = p + 1;
    *to = q;
    return q + 1;
}

typedef struct {
    cursor id_from, id_to, method_from, method_to, sid_from, sid_to;
} Envelope;

/* FAST_ENVELOPE at the start of [p, end): 1 and its groups, or 0. */
static int envelope(cursor p, cursor end, Envelope *env)
{
    memset(env, 0, sizeof *env);
    p = literal(p, end, "{\"jsonrpc\":\"2.0\",", 17);
    if (p == NULL)
        return 0;
    cursor q = literal(p, end, "\"id\":", 5);
    if (q != NULL) { /* (?:"id":(-?\d+|"[^"\\]*"),)? */
        cursor from = q, to = NULL, r;
        if (q < end && *q == '"') {
            r = plain_string(q, end, &from, &to);
            if (r != NULL)
                from = q, to = r; /* the group keeps its quotes */
        } else {
            r = q < end && *q == '-' ? q + 1 : q;
            to = digits(r, end);
            r = to > r ? to : NULL;
        }
        if (r != NULL && r < end && *r == ',') {
            env->id_from = from;
            env->id_to = to;
            p = r + 1;
        }
    }
    q = literal(p, end, "\"method\":", 9);
    if (q != NULL) {
        cursor method_from, method_to, sid_from, sid_to;
        cursor r = plain_string(q, end, &method_from, &method_to);
        if (r != NULL)
            r = literal(r, end, ",\"params\":{\"sessionId\":", 23);
        if (r != NULL && plain_string(r, end, &sid_from, &sid_to) != NULL) {
            env->method_from = method_from;
            env->method_to = method_to;
            env->sid_from = sid_from;
            env->sid_to = sid_to;
            return 1;
        }
    }
    if (literal(p, end, "\"result\":", 9) || literal(p, end, "\"error\":", 8))
        return 1;
    memset(env, 0, sizeof *env);
    return 0;
}

static PyObject *span(cursor from, cursor to)
{
    if (from == NULL)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(from, to - from);
}

/* The tuple of one frame line [line, newline), or Py_None if it is not in the layout,
 * or NULL on error. */
static PyObject *frame(cursor line, cursor newline, long long *last_seq)
{
    cursor p = literal(line, newline, "{\"seq\":", 7), q;
    int is_int;
    if (p == NULL || p >= newline || *p == '0')
        return Py_NewRef(Py_None);
    q = digits(p, newline);
    if (q == p || q - p > MAX_SEQ_DIGITS)
        return Py_NewRef(Py_None);
    long long seq = 0;
    for (cursor d = p; d < q; d++)
        seq = seq * 10 + (*d - '0');
    if (seq <= *last_seq)
        return Py_NewRef(Py_None);
    p = literal(q, newline, ",\"t\":", 5);
    if (p == NULL || (q = number(p, newline, &is_int)) == NULL)
        return Py_NewRef(Py_None);
    cursor t_from = p, t_to = q;
    p = literal(q, newline, ",\"dir\":\"", 8);
    if (p == NULL || newline - p < 4 || p[3] != '"')
        return Py_NewRef(Py_None);
    int direction = memcmp(p, "c2a", 3) == 0   ? 0
                    : memcmp(p, "a2c", 3) == 0 ? 1
                    : memcmp(p, "err", 3) == 0 ? 2
                                               : -1;
    if (direction < 0)
        return Py_NewRef(Py_None);
    p += 4;
    int eol = -1;
    if ((q = literal(p, newline, ",\"eol\":\"crlf\"", 13)) != NULL)
        eol = 0, p = q;
    else if ((q = literal(p, newline, ",\"eol\":\"none\"", 13)) != NULL)
        eol = 1, p = q;
    p = literal(p, newline, ",\"msg\":", 7);
    if (p == NULL)
        return Py_NewRef(Py_None);
    /* the message runs to the '}' before the terminator: `(.*)\}\r?\n`, greedy */
    cursor msg_end;
    if (newline > p && newline[-1] == '}')
        msg_end = newline - 1;
    else if (newline - p >= 2 && newline[-1] == '\r' && newline[-2] == '}')
        msg_end = newline - 2;
    else
        return Py_NewRef(Py_None);
    int valid = json_valid(p, msg_end);
    if (valid <= 0)
        return valid < 0 ? NULL : Py_NewRef(Py_None);
    Envelope env;
    envelope(p, msg_end, &env);
    PyObject *t_text = PyBytes_FromStringAndSize(t_from, t_to - t_from);
    if (t_text == NULL)
        return NULL;
    PyObject *t = PyFloat_FromString(t_text);
    Py_DECREF(t_text);
    if (t == NULL)
        return NULL;
    if (isinf(PyFloat_AS_DOUBLE(t))) {
        Py_DECREF(t);
        return Py_NewRef(Py_None);
    }
    *last_seq = seq;
    PyObject *eol_obj = eol < 0 ? Py_None : EOLS[eol];
    return Py_BuildValue("(LNOONNNN)", seq, t, DIRECTIONS[direction], eol_obj,
                         PyBytes_FromStringAndSize(p, msg_end - p), span(env.id_from, env.id_to),
                         span(env.method_from, env.method_to), span(env.sid_from, env.sid_to));
}

static PyObject *scan_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyBytes_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "scan_frames(bytes, int, int, int)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t max_frames = PyLong_AsSsize_t(args[2]);
    long long last_seq = PyLong_AsLongLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "scan_frames: need 0 <= pos <= len(data)");
        return NULL;
    }
    cursor base = PyBytes_AS_STRING(args[0]), end = base + size;
    PyObject *frames = PyList_New(0);
    if (frames == NULL)
        return NULL;
    while (pos < size && PyList_GET_SIZE(frames) < max_frames) {
        cursor line = base + pos;
        cursor newline = memchr(line, '\n', (size_t)(end - line));
        if (newline == NULL)
            break;
        PyObject *item = frame(line, newline, &last_seq);
        if (item == NULL) {
            Py_DECREF(frames);
            return NULL;
        }
        if (item == Py_None) {
            Py_DECREF(item);
            break;
        }
        int failed = PyList_Append(frames, item);
        Py_DECREF(item);
        if (failed) {
            Py_DECREF(frames);
            return NULL;
        }
        pos = newline + 1 - base;
    }
    return Py_BuildValue("(Nn)", frames, pos);
}

static PyMethodDef framelines_methods[] = {
    {"scan_frames", (PyCFunction)(void (*)(void))scan_frames, METH_FASTCALL,
     "Split the frame lines in the usual layout from pos on: (frames, pos)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef framelines_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_framelines",
    .m_doc = "Native fast path of acp_tap.cassette.framelines.",
    .m_size = -1,
    .m_methods = framelines_methods,
};

PyMODINIT_FUNC PyInit__framelines(void)
{
    static const char *names[] = {"c2a", "a2c", "err", "crlf", "none"};
    for (int i = 0; i < 5; i++) {
        PyObject *name = PyBytes_FromString(names[i]);
        if (name == NULL)
            return NULL;
        if (i < 3)
            DIRECTIONS[i] = name;
        else
            EOLS[i - 3] = name;
    }
    return PyModule_Create(&framelines_module);
}
