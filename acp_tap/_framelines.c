/* Native fast path of the replay loader: split frame lines in the writer's own layout.
 *
 * scan_frames(data, pos, max_frames) -> (frames, pos)
 *
 * From ``pos`` (the start of a line) in ``data`` (bytes), take each line that is a frame
 * in the usual layout, exactly what acp_tap.cassette.framelines._FRAME matches:
 *
 *     {"seq":N,"t":T,"dir":"c2a|a2c|err"[,"eol":"crlf|none"],"msg":RAW}  then \n or \r\n
 *
 * and make it a tuple (seq, t, dir, eol, raw, id, method, sessionId): seq an int, t a
 * float (as float() reads it), dir and eol bytes (eol None when absent), raw the message's
 * bytes, and the last three the FAST_ENVELOPE groups read from the start of raw (None
 * where absent). Stop at the first other line, or after max_frames; return the tuples
 * and the position of the first line not taken. Holds no state.
 *
 * acp_tap.cassette.framelines.scan_frames_py is the reference: both give the same tuples.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_SEQ_DIGITS 18 /* longer sequence numbers are left to the slow path */

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

/* The end of the number `\d+(\.\d+)?([eE][-+]?\d+)?` at p, or NULL. */
static cursor number(cursor p, cursor end)
{
    cursor q = digits(p, end);
    if (q == p)
        return NULL;
    if (q < end && *q == '.' && q + 1 < end && is_digit(q[1]))
        q = digits(q + 1, end);
    if (q < end && (*q == 'e' || *q == 'E')) {
        cursor r = q + 1;
        if (r < end && (*r == '+' || *r == '-'))
            r++;
        if (r < end && is_digit(*r))
            q = digits(r, end);
    }
    return q;
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
static PyObject *frame(cursor line, cursor newline)
{
    cursor p = literal(line, newline, "{\"seq\":", 7), q;
    if (p == NULL)
        return Py_NewRef(Py_None);
    q = digits(p, newline);
    if (q == p || q - p > MAX_SEQ_DIGITS)
        return Py_NewRef(Py_None);
    long long seq = 0;
    for (cursor d = p; d < q; d++)
        seq = seq * 10 + (*d - '0');
    p = literal(q, newline, ",\"t\":", 5);
    if (p == NULL || (q = number(p, newline)) == NULL)
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
    Envelope env;
    envelope(p, msg_end, &env);
    PyObject *t_text = PyBytes_FromStringAndSize(t_from, t_to - t_from);
    if (t_text == NULL)
        return NULL;
    PyObject *t = PyFloat_FromString(t_text);
    Py_DECREF(t_text);
    if (t == NULL)
        return NULL;
    PyObject *eol_obj = eol < 0 ? Py_None : EOLS[eol];
    return Py_BuildValue("(LNOONNNN)", seq, t, DIRECTIONS[direction], eol_obj,
                         PyBytes_FromStringAndSize(p, msg_end - p), span(env.id_from, env.id_to),
                         span(env.method_from, env.method_to), span(env.sid_from, env.sid_to));
}

static PyObject *scan_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyBytes_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "scan_frames(bytes, int, int)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t max_frames = PyLong_AsSsize_t(args[2]);
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
        PyObject *item = frame(line, newline);
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
