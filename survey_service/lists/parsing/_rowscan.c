/*
 * survey_service.lists.parsing._rowscan: the common row of a client list, in C.
 *
 * The parsing helper of a list import spends most of its time in the
 * per-row loop of rows._Parser.run: a phone number, a name, a service, a
 * date and a kind already seen, appended to eight column lists.
 * In Python each such row costs some thirty bytecodes and the phone
 * normaliser's call; a columnar rewrite in Python was slower still. scan()
 * takes rows from the csv iterator and handles that common row here; every
 * other row (any doubt at all) goes back to Python, which runs its loop body
 * on it unchanged, so the results and their order are exactly the Python
 * loop's. rows.py runs the loop alone when this module is not built (see
 * survey_service/native_build.py) or in row-by-row mode.
 *
 * A row is common when it is a list of exactly nk str cells, controls[0] is
 * False, the phone cell is a number that the normaliser's fast path reads
 * (ASCII, or full-width forms NFKC makes ASCII), and the date and kind cells
 * (as written) are keys of their caches.
 * The numbers read here: a mobile ("13912345678", "139 1234-5678", "+86 139…",
 * "0086139…", "86139…") or a landline of the file's area code (for 027:
 * "027-88886666", "(027)88886666", "02788886666", and "88886666", a local
 * number not starting with 0 or 1, completed with the area code), when the
 * national number has 11 digits and starts with 1 or has 10 (the landlines of
 * a 3-digit area code: 4-digit ones, "0755-…", give 11 digits not starting
 * with 1 and stay Python's), and its 5-digit prefix is known valid for that
 * length. Python learns the states of the
 * prefixes as it meets them and remakes the tables when they grow, so the
 * first row of a new prefix is Python's and the later ones are read here.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#define MOBILE_LEN 11   /* the national numbers read here have 11 digits (1…) or 10 */
#define LANDLINE_LEN 10
#define LOCAL_LEN 8     /* a local landline number, after the area code */
#define MAX_DIGITS 15 /* 0086 and a mobile: the longest phone cell read here, separators aside */
#define FIRST_PREFIX 10000 /* both tables start at the 5-digit prefix 10000 */
#define PREFIXES_11 10000  /* 10000..19999: 11-digit numbers start with 1 */
#define PREFIXES_10 90000  /* 10000..99999 */
#define MAX_AREA 8         /* "0" and up to 7 digits: landlines of longer ones are Python's */
#define GARBLED 0xFFFD

/* The column lists of PhoneRows, in its field order. */
enum { C_ROW, C_RAW, C_PHONE, C_NAME, C_SERVICE, C_DATE, C_KIND, C_GARBLED, N_COLUMNS };

/* What run() fixed for the file; read from the setup tuple at every call. */
typedef struct {
    Py_ssize_t pi, ni, si, di, ki;     /* columns: phone, name, service, date, kind (-1: none) */
    PyObject *controls;                /* list; controls[0] True once control chars may occur */
    char area0[MAX_AREA];              /* the area code with its 0 ("027"), ASCII digits */
    int area_len;                      /* its length; 0: landlines are left to Python */
    const unsigned char *valid11;      /* PREFIXES_11 bytes, 1 where 11-digit NSNs are valid */
    const unsigned char *valid10;      /* PREFIXES_10 bytes, the same for 10-digit NSNs */
    PyObject *date_cache, *kind_cache; /* dict: cell as written -> its parsed value */
    Py_ssize_t batch;                  /* a batch is full at this many rows */
} Setup;

static int
digits(const char *d, int n)
{
    for (int k = 0; k < n; k++) {
        if (d[k] < '0' || d[k] > '9') {
            return 0;
        }
    }
    return 1;
}

static int
read_index(PyObject *value, Py_ssize_t nk, Py_ssize_t lowest, Py_ssize_t *out)
{
    Py_ssize_t i = PyLong_AsSsize_t(value);
    if (i == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (i < lowest || i >= nk) {
        PyErr_Format(PyExc_ValueError, "column %zd is outside a row of %zd cells", i, nk);
        return -1;
    }
    *out = i;
    return 0;
}

/* The area code with its leading 0, as phones._area_prefix gives it ("027").
 * One of more than MAX_AREA characters, or not of ASCII digits (_area_prefix
 * keeps any Unicode digit), leaves every landline to Python: area_len 0. */
static int
read_area(PyObject *area0, Setup *s)
{
    if (!PyUnicode_Check(area0)) {
        PyErr_SetString(PyExc_TypeError, "the area code must be a str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(area0);
    s->area_len = 0;
    if (PyUnicode_IS_ASCII(area0) && n >= 1 && n <= MAX_AREA
        && digits((const char *)PyUnicode_1BYTE_DATA(area0), (int)n)) {
        memcpy(s->area0, PyUnicode_1BYTE_DATA(area0), (size_t)n);
        s->area_len = (int)n;
    }
    return 0;
}

static const unsigned char *
read_table(PyObject *table, Py_ssize_t size)
{
    if (!PyBytes_Check(table) || PyBytes_GET_SIZE(table) != size) {
        PyErr_Format(PyExc_TypeError, "a table of prefixes must be %zd bytes", size);
        return NULL;
    }
    return (const unsigned char *)PyBytes_AS_STRING(table);
}

/* setup = (pi, ni, si, di, ki, controls, area0, valid11, valid10, date_cache,
 *          kind_cache, batch) */
static int
read_setup(PyObject *setup, Py_ssize_t nk, Setup *s)
{
    if (!PyTuple_Check(setup) || PyTuple_GET_SIZE(setup) != 12) {
        PyErr_SetString(PyExc_TypeError, "setup must be a tuple of 12 items");
        return -1;
    }
    if (read_index(PyTuple_GET_ITEM(setup, 0), nk, 0, &s->pi) < 0
        || read_index(PyTuple_GET_ITEM(setup, 1), nk, -1, &s->ni) < 0
        || read_index(PyTuple_GET_ITEM(setup, 2), nk, -1, &s->si) < 0
        || read_index(PyTuple_GET_ITEM(setup, 3), nk, -1, &s->di) < 0
        || read_index(PyTuple_GET_ITEM(setup, 4), nk, -1, &s->ki) < 0) {
        return -1;
    }
    s->controls = PyTuple_GET_ITEM(setup, 5);
    s->date_cache = PyTuple_GET_ITEM(setup, 9);
    s->kind_cache = PyTuple_GET_ITEM(setup, 10);
    if (!PyList_Check(s->controls) || !PyDict_Check(s->date_cache)
        || !PyDict_Check(s->kind_cache)) {
        PyErr_SetString(PyExc_TypeError, "setup wants a controls list and two dicts");
        return -1;
    }
    if (read_area(PyTuple_GET_ITEM(setup, 6), s) < 0
        || (s->valid11 = read_table(PyTuple_GET_ITEM(setup, 7), PREFIXES_11)) == NULL
        || (s->valid10 = read_table(PyTuple_GET_ITEM(setup, 8), PREFIXES_10)) == NULL) {
        return -1;
    }
    s->batch = PyLong_AsSsize_t(PyTuple_GET_ITEM(setup, 11));
    if (s->batch == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (s->batch < 1) {
        PyErr_SetString(PyExc_ValueError, "batch must be at least 1");
        return -1;
    }
    return 0;
}

static int
read_columns(PyObject *columns, PyObject **cols)
{
    if (!PyList_Check(columns) || PyList_GET_SIZE(columns) != N_COLUMNS) {
        PyErr_SetString(PyExc_TypeError, "columns must be a list of 8 lists");
        return -1;
    }
    for (int c = 0; c < N_COLUMNS; c++) {
        cols[c] = PyList_GET_ITEM(columns, c);
        if (!PyList_Check(cols[c])) {
            PyErr_SetString(PyExc_TypeError, "columns must be a list of 8 lists");
            return -1;
        }
    }
    return 0;
}

/* state = [rownum, accepted]: rows read so far, rows this module put in the columns. */
static int
read_state(PyObject *state, Py_ssize_t *rownum, Py_ssize_t *accepted)
{
    if (!PyList_Check(state) || PyList_GET_SIZE(state) != 2) {
        PyErr_SetString(PyExc_TypeError, "state must be a list [rownum, accepted]");
        return -1;
    }
    *rownum = PyLong_AsSsize_t(PyList_GET_ITEM(state, 0));
    if (*rownum == -1 && PyErr_Occurred()) {
        return -1;
    }
    *accepted = PyLong_AsSsize_t(PyList_GET_ITEM(state, 1));
    if (*accepted == -1 && PyErr_Occurred()) {
        return -1;
    }
    return 0;
}

static int
store_state(PyObject *state, Py_ssize_t rownum, Py_ssize_t accepted)
{
    PyObject *r = PyLong_FromSsize_t(rownum);
    if (r == NULL || PyList_SetItem(state, 0, r) < 0) { /* SetItem takes r even when failing */
        return -1;
    }
    PyObject *a = PyLong_FromSsize_t(accepted);
    if (a == NULL || PyList_SetItem(state, 1, a) < 0) {
        return -1;
    }
    return 0;
}

/* Store the counters at any exit; an exception already raised (the csv
 * reader's, say) stays the one raised. */
static int
store_state_keeping_error(PyObject *state, Py_ssize_t rownum, Py_ssize_t accepted)
{
    if (!PyErr_Occurred()) {
        return store_state(state, rownum, accepted);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = PyErr_GetRaisedException();
    (void)store_state(state, rownum, accepted);
    PyErr_SetRaisedException(raised);
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    (void)store_state(state, rownum, accepted);
    PyErr_Restore(type, value, traceback);
#endif
    return -1;
}

/* [*start, *end) of s without the whitespace str.strip() removes (Py_UNICODE_ISSPACE). */
static void
strip_bounds(PyObject *s, Py_ssize_t *start, Py_ssize_t *end)
{
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t i = 0, j = PyUnicode_GET_LENGTH(s);
    while (i < j && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
        i++;
    }
    while (j > i && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j - 1))) {
        j--;
    }
    *start = i;
    *end = j;
}

/* A number as the normaliser's fast path reads it: the cell stripped, and the
 * 10 or 11 digits of its national number. */
typedef struct {
    Py_ssize_t start, end;
    char nsn[MOBILE_LEN];
    int len;
} Number;

/* The characters the normaliser deletes from an ASCII phone cell (phones._SEP_ASCII). */
static int
separator(Py_UCS1 ch)
{
    switch (ch) {
    case ' ': case '\t': case '\r': case '\n': case '\f': case '\v':
    case '-': case '_': case '(': case ')': case '[': case ']': case '/': case '\\':
        return 1;
    default:
        return 0;
    }
}

/* Whether the normaliser's fast path gives "+86" + a national number known
 * valid for cell: ASCII, stripped, separators deleted, then its if-chain
 * (phones._make_phone_normalizer) on the digits d, in its order:
 *   11 digits, the first 1            the mobile itself
 *   86 and a mobile (13 digits)       d[2:]
 *   0086 and a mobile (15 digits)     d[4:]
 *   area0 and 8 digits                d[1:]      ("02788886666": 2788886666)
 *   8 digits, the first not 0 or 1    area + d   ("88886666": 2788886666)
 * or +86 and a mobile (14 characters), d[3:]. Then by the length of the
 * national number: 11 digits starting with 1 or 10 digits, with a 5-digit
 * prefix whose state is 1 in its table. A cell that is not ASCII is read as
 * the normaliser reads it after NFKC when every other character is a
 * full-width form or the ideographic space (nfkc_ascii). Anything else
 * (another character: a no-break space, a circled digit; another length; a
 * prefix not known valid, or not known yet): Python decides. */
/* The ASCII character NFKC makes of ch, for the few read here: a full-width
 * form (U+FF01..U+FF5E: "１", "＋", "－", "（") and the ideographic space;
 * 0 for any other (Python decides). Each maps to one ASCII character that
 * composes with nothing, so NFKC of a cell made of these and ASCII is this
 * mapping, character by character. */
static Py_UCS4
nfkc_ascii(Py_UCS4 ch)
{
    if (ch >= 0xFF01 && ch <= 0xFF5E) {
        return ch - 0xFEE0;
    }
    return ch == 0x3000 ? ' ' : 0;
}

static int
number(PyObject *cell, const Setup *s, Number *m)
{
    char d[MAX_DIGITS];
    int n = 0;
    int kind = PyUnicode_KIND(cell);
    const void *text = PyUnicode_DATA(cell);
    strip_bounds(cell, &m->start, &m->end);
    for (Py_ssize_t k = m->start; k < m->end; k++) {
        Py_UCS4 ch = PyUnicode_READ(kind, text, k);
        if (ch >= 0x80 && (ch = nfkc_ascii(ch)) == 0) {
            return 0;
        }
        if (separator((Py_UCS1)ch)) {
            continue;
        }
        if (n == MAX_DIGITS) {
            return 0;
        }
        d[n++] = (char)ch;
    }
    const char *head = "", *tail; /* the national number: head (of the area code), then tail */
    int head_len = 0, tail_len;
    if (n > 0 && d[0] != '+') {
        if (!digits(d, n)) {
            return 0;
        }
        if (n == 11 && d[0] == '1') {
            tail = d, tail_len = 11;
        } else if (n == 13 && memcmp(d, "861", 3) == 0) {
            tail = d + 2, tail_len = 11;
        } else if (n == 15 && memcmp(d, "00861", 5) == 0) {
            tail = d + 4, tail_len = 11;
        } else if (s->area_len == 0) {
            return 0; /* the landline cases: Python's */
        } else if (n == s->area_len + LOCAL_LEN && memcmp(d, s->area0, (size_t)s->area_len) == 0) {
            tail = d + 1, tail_len = n - 1;
        } else if (n == LOCAL_LEN && d[0] != '0' && d[0] != '1') {
            head = s->area0 + 1, head_len = s->area_len - 1;
            tail = d, tail_len = LOCAL_LEN;
        } else {
            return 0;
        }
    } else if (n == 14 && memcmp(d, "+861", 4) == 0 && digits(d + 1, 13)) {
        tail = d + 3, tail_len = 11;
    } else {
        return 0;
    }
    m->len = head_len + tail_len;
    if (m->len != MOBILE_LEN && m->len != LANDLINE_LEN) {
        return 0;
    }
    memcpy(m->nsn, head, (size_t)head_len);
    memcpy(m->nsn + head_len, tail, (size_t)tail_len);
    int prefix = 0;
    for (int k = 0; k < 5; k++) {
        prefix = prefix * 10 + (m->nsn[k] - '0');
    }
    prefix -= FIRST_PREFIX;
    if (m->len == MOBILE_LEN) {
        return prefix >= 0 && prefix < PREFIXES_11 && s->valid11[prefix];
    }
    return prefix >= 0 && prefix < PREFIXES_10 && s->valid10[prefix];
}

/* New reference: cells[i].strip(), or None when it is empty or there is no such column. */
static PyObject *
stripped_or_none(PyObject *cells, Py_ssize_t i)
{
    Py_ssize_t start, end;
    if (i < 0) {
        return Py_NewRef(Py_None);
    }
    PyObject *cell = PyList_GET_ITEM(cells, i);
    strip_bounds(cell, &start, &end);
    if (start == end) {
        return Py_NewRef(Py_None);
    }
    return PyUnicode_Substring(cell, start, end);
}

/* "+86" + the national number. */
static PyObject *
e164(const Number *m)
{
    PyObject *out = PyUnicode_New(3 + m->len, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(out);
    memcpy(d, "+86", 3);
    memcpy(d + 3, m->nsn, (size_t)m->len);
    return out;
}

/* 1 when text (a str, or None) holds U+FFFD, 0 when not, -1 on error. */
static int
garbled(PyObject *text)
{
    if (text == Py_None) {
        return 0;
    }
    Py_ssize_t at = PyUnicode_FindChar(text, GARBLED, 0, PyUnicode_GET_LENGTH(text), 1);
    return at == -2 ? -1 : at >= 0;
}

/* Borrowed: cache[cells[i]], or None for no column; NULL when the cell is not
 * a key (no exception: Python parses it) or on error (an exception). */
static PyObject *
cached(PyObject *cache, PyObject *cells, Py_ssize_t i)
{
    if (i < 0) {
        return Py_None;
    }
    return PyDict_GetItemWithError(cache, PyList_GET_ITEM(cells, i));
}

/* Whether the row is one this module handles; every cell a str, checked. */
static int
common_shape(const Setup *s, PyObject *cells, Py_ssize_t nk)
{
    if (!PyList_CheckExact(cells) || PyList_GET_SIZE(cells) != nk) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < nk; i++) {
        PyObject *cell = PyList_GET_ITEM(cells, i);
        if (!PyUnicode_CheckExact(cell)) {
            return 0;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (!PyUnicode_IS_READY(cell)) {
            return 0;
        }
#endif
    }
    return PyList_GET_SIZE(s->controls) > 0 && PyList_GET_ITEM(s->controls, 0) == Py_False;
}

/* Append the row to the columns as the Python loop does: garbled position
 * first, then row, raw, e164, name or None, service or None, date, kind. */
static int
append_row(const Setup *s, PyObject *cells, const Number *m, Py_ssize_t rownum, PyObject *date,
           PyObject *kind, PyObject **cols)
{
    PyObject *phone = PyList_GET_ITEM(cells, s->pi);
    PyObject *v[C_GARBLED] = {NULL};
    int rc = -1, bad;
    v[C_DATE] = Py_NewRef(date); /* borrowed from the caches: held before anything else */
    v[C_KIND] = Py_NewRef(kind);
    v[C_ROW] = PyLong_FromSsize_t(rownum);
    v[C_RAW] = PyUnicode_Substring(phone, m->start, m->end);
    v[C_PHONE] = e164(m);
    v[C_NAME] = stripped_or_none(cells, s->ni);
    v[C_SERVICE] = stripped_or_none(cells, s->si);
    for (int c = 0; c < C_GARBLED; c++) {
        if (v[c] == NULL) {
            goto done;
        }
    }
    if ((bad = garbled(v[C_NAME])) == 0) {
        bad = garbled(v[C_SERVICE]);
    }
    if (bad < 0) {
        goto done;
    }
    if (bad) {
        PyObject *at = PyLong_FromSsize_t(PyList_GET_SIZE(cols[C_ROW]));
        if (at == NULL) {
            goto done;
        }
        int failed = PyList_Append(cols[C_GARBLED], at);
        Py_DECREF(at);
        if (failed) {
            goto done;
        }
    }
    for (int c = 0; c < C_GARBLED; c++) {
        if (PyList_Append(cols[c], v[c]) < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    for (int c = 0; c < C_GARBLED; c++) {
        Py_XDECREF(v[c]);
    }
    return rc;
}

/* 1: a common row, now in the columns; 0: one for Python; -1: an error. */
static int
take_row(const Setup *s, PyObject *cells, Py_ssize_t nk, Py_ssize_t rownum, PyObject **cols)
{
    Number m;
    PyObject *date, *kind;
    if (!common_shape(s, cells, nk) || !number(PyList_GET_ITEM(cells, s->pi), s, &m)) {
        return 0;
    }
    if ((date = cached(s->date_cache, cells, s->di)) == NULL
        || (kind = cached(s->kind_cache, cells, s->ki)) == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return append_row(s, cells, &m, rownum, date, kind, cols) < 0 ? -1 : 1;
}

PyDoc_STRVAR(scan_doc,
"scan(rows, state, columns, nk, setup)\n--\n\n"
"Read rows from the iterator rows, appending each common row to columns (the\n"
"eight lists of a PhoneRows) until a row is not common, the iterator ends or\n"
"len(columns[0]) reaches the batch size. Returns that row (a list, already\n"
"counted in state), None when the rows are exhausted, True when the batch is\n"
"full. state = [rownum, accepted] is updated at every return, an exception\n"
"from the iterator included. setup = (pi, ni, si, di, ki, controls, area0,\n"
"valid_prefixes(11), valid_prefixes(10), date_cache, kind_cache, batch).");

static PyObject *
scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Setup s;
    PyObject *cols[N_COLUMNS];
    Py_ssize_t nk, rownum, accepted;
    PyObject *result = NULL;

    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "scan() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *rows = args[0], *state = args[1];
    if ((nk = PyLong_AsSsize_t(args[3])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (read_setup(args[4], nk, &s) < 0 || read_columns(args[2], cols) < 0
        || read_state(state, &rownum, &accepted) < 0) {
        return NULL;
    }
    if (!PyIter_Check(rows)) {
        PyErr_SetString(PyExc_TypeError, "rows must be an iterator");
        return NULL;
    }
    for (;;) {
        PyObject *cells = PyIter_Next(rows);
        if (cells == NULL) {
            if (!PyErr_Occurred()) {
                result = Py_NewRef(Py_None);
            }
            break;
        }
        rownum++;
        int taken = take_row(&s, cells, nk, rownum, cols);
        if (taken != 1) {
            if (taken == 0) {
                result = cells;
            } else {
                Py_DECREF(cells);
            }
            break;
        }
        Py_DECREF(cells);
        accepted++;
        if (PyList_GET_SIZE(cols[C_ROW]) >= s.batch) {
            result = Py_NewRef(Py_True);
            break;
        }
    }
    if (store_state_keeping_error(state, rownum, accepted) < 0) {
        Py_CLEAR(result);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL, scan_doc},
    {NULL, NULL, 0, NULL},
};

/* No state and no slots: multi-phase initialisation with the defaults. */
static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "survey_service.lists.parsing._rowscan",
    .m_doc = "The common row of a client list (a known phone number, date and kind) in C.",
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__rowscan(void)
{
    return PyModuleDef_Init(&module);
}
