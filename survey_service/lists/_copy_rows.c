/*
 * survey_service.lists._copy_rows: a batch's columns as PostgreSQL binary COPY data.
 *
 * A list import on PostgreSQL streams a million rows of nine columns
 * through one COPY. psycopg's write_row takes a tuple per row, which the
 * import builds from its columns first; together about 0.4 CPU-s a million
 * rows in the writer, on the two cores the parsing helper and the server
 * share. This module writes the rows of a batch straight from its columns
 * into the binary COPY format (PostgreSQL's documentation, "COPY", "Binary
 * Format"): per row a 16-bit field count, then per field a 32-bit length
 * (-1 for NULL) and the value: a text as its UTF-8 bytes, an int4 as 4
 * bytes in network order. The caller sends the bytes with psycopg's
 * Copy.write, so the server parses exactly what write_row would have sent;
 * without this module the import keeps write_row (survey_service/
 * native_build.py builds it).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_columns.h"

enum { TEXT = 0, INT4 = 1 };

static const char SIGNATURE[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static void
put_be32(char *out, uint32_t value)
{
    out[0] = (char)(value >> 24);
    out[1] = (char)(value >> 16);
    out[2] = (char)(value >> 8);
    out[3] = (char)value;
}

/* The value's size on the wire, or -1 with a Python error set. */
static Py_ssize_t
field_size(PyObject *value, int type, Py_ssize_t column, Py_ssize_t row, const char **text)
{
    *text = NULL;
    if (value == Py_None) {
        return 0;
    }
    if (type == INT4) {
        if (!PyLong_Check(value) || PyBool_Check(value)) {
            PyErr_Format(PyExc_TypeError, "column %zd, row %zd: %.100s is not an int4", column,
                         row, Py_TYPE(value)->tp_name);
            return -1;
        }
        return 4;
    }
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "column %zd, row %zd: %.100s is not text", column, row,
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    Py_ssize_t len;
    *text = PyUnicode_AsUTF8AndSize(value, &len);
    if (*text == NULL) {
        return -1;
    }
    if (len > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "column %zd, row %zd: text too long", column, row);
        return -1;
    }
    return len;
}

/*
 * encode(columns, nrows, types, signature) -> bytes
 *
 * The binary COPY data of `nrows` rows taken from `columns`: each a list or
 * tuple of nrows values, or one value (not a list or tuple) repeated for
 * every row. `types` is a bytes of one code per column (0 text, 1 int4);
 * None is NULL in any column. `signature`: begin with the format's header
 * (the first data of a COPY). The trailer is the caller's, once, at the end.
 */
static PyObject *
encode(PyObject *self, PyObject *args)
{
    PyObject *columns;
    Py_ssize_t nrows;
    const char *types;
    Py_ssize_t ntypes;
    int signature;
    if (!PyArg_ParseTuple(args, "O!ny#p:encode", &PyTuple_Type, &columns, &nrows, &types,
                          &ntypes, &signature)) {
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(columns);
    /* PostgreSQL's limit on a table's columns (1600) bounds the arrays below. */
    if (width < 1 || width > 1600 || ntypes != width || nrows < 0) {
        PyErr_SetString(PyExc_ValueError, "one type per column, 1 to 1600 columns");
        return NULL;
    }
    for (Py_ssize_t c = 0; c < width; c++) {
        if (types[c] != TEXT && types[c] != INT4) {
            PyErr_Format(PyExc_ValueError, "column %zd: unknown type code %d", c, types[c]);
            return NULL;
        }
    }
    PyObject **cells[width];
    PyObject *constant[width];
    if (batch_columns(columns, width, nrows, cells, constant) < 0) {
        return NULL;
    }
    /* First the size: every value checked, every text's UTF-8 made once. */
    Py_ssize_t total = signature ? (Py_ssize_t)sizeof SIGNATURE : 0;
    const char *text;
    for (Py_ssize_t row = 0; row < nrows; row++) {
        total += 2;
        for (Py_ssize_t c = 0; c < width; c++) {
            PyObject *value = cells[c] ? cells[c][row] : constant[c];
            Py_ssize_t size = field_size(value, types[c], c, row, &text);
            if (size < 0) {
                return NULL;
            }
            if (total > PY_SSIZE_T_MAX - 4 - size - 2) {
                return PyErr_NoMemory();
            }
            total += 4 + size;
        }
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(result);
    if (signature) {
        memcpy(out, SIGNATURE, sizeof SIGNATURE);
        out += sizeof SIGNATURE;
    }
    for (Py_ssize_t row = 0; row < nrows; row++) {
        out[0] = (char)(width >> 8);
        out[1] = (char)width;
        out += 2;
        for (Py_ssize_t c = 0; c < width; c++) {
            PyObject *value = cells[c] ? cells[c][row] : constant[c];
            if (value == Py_None) {
                put_be32(out, UINT32_MAX); /* -1: NULL */
                out += 4;
                continue;
            }
            if (types[c] == INT4) {
                long number = PyLong_AsLong(value);
                if ((number == -1 && PyErr_Occurred()) || number < INT32_MIN ||
                    number > INT32_MAX) {
                    Py_DECREF(result);
                    PyErr_Clear();
                    PyErr_Format(PyExc_OverflowError, "column %zd, row %zd: out of int4's range",
                                 c, row);
                    return NULL;
                }
                put_be32(out, 4);
                put_be32(out + 4, (uint32_t)(int32_t)number);
                out += 8;
                continue;
            }
            Py_ssize_t len;
            text = PyUnicode_AsUTF8AndSize(value, &len); /* cached by the first pass */
            put_be32(out, (uint32_t)len);
            memcpy(out + 4, text, (size_t)len);
            out += 4 + len;
        }
    }
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS, "encode(columns, nrows, types, signature) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_copy_rows",
    "A batch of columns as PostgreSQL binary COPY data.", -1, methods,
};

PyMODINIT_FUNC
PyInit__copy_rows(void)
{
    return PyModule_Create(&module);
}
