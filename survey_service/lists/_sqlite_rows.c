/*
 * survey_service.lists._sqlite_rows: insert a batch of columns into SQLite.
 *
 * A list import on SQLite inserts a million rows of nine columns in one
 * transaction. Through Python's sqlite3 module every value is bound by a
 * method of the cursor (a type check, a UTF-8 lookup, a copy of the text)
 * after the rows were built as tuples and flattened into the parameters of
 * multi-row INSERTs: about as much CPU again as SQLite's own insert. This
 * module binds the batch's columns straight from the Python lists on the
 * connection the import already holds, inside its open transaction:
 * SQLite's own API (prepare, bind, step, reset), no SQL of its own beyond
 * the caller's INSERT. Each text is bound without a copy (SQLITE_STATIC):
 * the lists hold their strings until the statement is reset.
 *
 * The handle is read from the sqlite3.Connection object, whose first field
 * after the object header is CPython's `sqlite3 *db` (Modules/_sqlite/
 * connection.h, the same from 3.8 to 3.13). `handle_matches` checks that
 * handle against the connection before any row is written: the same
 * database file, the same change count, an open transaction, the same
 * SQLite library. Where it does not match, the caller keeps Python's
 * executemany (see survey_service/lists/batch_writer.py), which is also the
 * fallback when this module is not built (survey_service/native_build.py).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <sqlite3.h>
#include <string.h>

#include "_columns.h"

typedef struct {
    PyObject_HEAD
    sqlite3 *db;
} ConnectionHead;

/* The sqlite3 module's Connection type and its errors, looked up on first use. */
static PyObject *connection_type;
static PyObject *integrity_error;
static PyObject *operational_error;

static int
load_sqlite3_module(void)
{
    if (connection_type != NULL) {
        return 0;
    }
    PyObject *module = PyImport_ImportModule("sqlite3");
    if (module == NULL) {
        return -1;
    }
    connection_type = PyObject_GetAttrString(module, "Connection");
    integrity_error = PyObject_GetAttrString(module, "IntegrityError");
    operational_error = PyObject_GetAttrString(module, "OperationalError");
    Py_DECREF(module);
    if (connection_type == NULL || integrity_error == NULL || operational_error == NULL) {
        Py_CLEAR(connection_type);
        Py_CLEAR(integrity_error);
        Py_CLEAR(operational_error);
        return -1;
    }
    return 0;
}

/* The connection's handle, or NULL with TypeError for anything else. */
static sqlite3 *
handle_of(PyObject *connection)
{
    if (load_sqlite3_module() < 0) {
        return NULL;
    }
    int is_connection = PyObject_IsInstance(connection, connection_type);
    if (is_connection < 0) {
        return NULL;
    }
    if (!is_connection) {
        PyErr_Format(PyExc_TypeError, "connection is %.100s, not sqlite3.Connection",
                     Py_TYPE(connection)->tp_name);
        return NULL;
    }
    sqlite3 *db = ((ConnectionHead *)connection)->db;
    if (db == NULL) {
        PyErr_SetString(PyExc_ValueError, "the sqlite3 connection is closed");
        return NULL;
    }
    return db;
}

/*
 * handle_matches(connection, filename, total_changes) -> bool
 *
 * Whether the handle read from `connection` is the one Python's module
 * uses: the main database's file is `filename` (as PRAGMA database_list
 * gives it), the change count is `total_changes` (connection.total_changes,
 * read by the caller just before), a transaction is open, and this module
 * was built against the SQLite library that is loaded.
 */
static PyObject *
handle_matches(PyObject *self, PyObject *args)
{
    PyObject *connection;
    const char *filename;
    long long total_changes;
    if (!PyArg_ParseTuple(args, "OsL:handle_matches", &connection, &filename, &total_changes)) {
        return NULL;
    }
    sqlite3 *db = handle_of(connection);
    if (db == NULL) {
        return NULL;
    }
    if (sqlite3_libversion_number() != SQLITE_VERSION_NUMBER) {
        Py_RETURN_FALSE;
    }
    const char *main_file = sqlite3_db_filename(db, "main");
    int same_file = main_file != NULL && strcmp(main_file, filename) == 0;
    int same_changes = (long long)sqlite3_total_changes(db) == total_changes;
    int in_transaction = !sqlite3_get_autocommit(db);
    return PyBool_FromLong(same_file && same_changes && in_transaction);
}

/* Raise sqlite3's IntegrityError or OperationalError with SQLite's message. */
static void *
sqlite_error(sqlite3 *db, int code, const char *during)
{
    PyObject *kind = (code & 0xff) == SQLITE_CONSTRAINT ? integrity_error : operational_error;
    PyErr_Format(kind, "%s: %s", during, sqlite3_errmsg(db));
    return NULL;
}

/* Bind one value; returns an SQLite code, or -1 with a Python error set. */
static int
bind_value(sqlite3_stmt *stmt, int at, PyObject *value, Py_ssize_t column, Py_ssize_t row)
{
    if (value == Py_None) {
        return sqlite3_bind_null(stmt, at);
    }
    if (PyUnicode_Check(value)) {
        Py_ssize_t len;
        const char *text = PyUnicode_AsUTF8AndSize(value, &len);
        if (text == NULL) {
            return -1;
        }
        return sqlite3_bind_text64(stmt, at, text, (sqlite3_uint64)len, SQLITE_STATIC,
                                   SQLITE_UTF8);
    }
    if (PyLong_Check(value) && !PyBool_Check(value)) {
        long long number = PyLong_AsLongLong(value);
        if (number == -1 && PyErr_Occurred()) {
            return -1;
        }
        return sqlite3_bind_int64(stmt, at, number);
    }
    if (PyBytes_Check(value)) {
        return sqlite3_bind_blob64(stmt, at, PyBytes_AS_STRING(value),
                                   (sqlite3_uint64)PyBytes_GET_SIZE(value), SQLITE_STATIC);
    }
    if (PyFloat_Check(value)) {
        return sqlite3_bind_double(stmt, at, PyFloat_AS_DOUBLE(value));
    }
    PyErr_Format(PyExc_TypeError, "column %zd, row %zd: %.100s cannot be stored", column, row,
                 Py_TYPE(value)->tp_name);
    return -1;
}

/*
 * insert_columns(connection, sql, columns, nrows, per_statement) -> int
 *
 * Run `sql`, an INSERT whose VALUES hold `per_statement` rows of
 * len(columns) placeholders each, over `nrows` rows taken from `columns`:
 * each a list or tuple of nrows values, or one value (not a list or tuple)
 * repeated for every row. The rows left over (nrows % per_statement) go
 * through the same INSERT's first row, prepared on its own: `tail_sql`.
 * Values are None, int, str, bytes or float. Returns the rows inserted.
 * Nothing is committed; an error stops at the row it names, and the caller's
 * transaction is rolled back.
 */
static PyObject *
insert_columns(PyObject *self, PyObject *args)
{
    PyObject *connection, *columns;
    const char *sql, *tail_sql;
    Py_ssize_t sql_len, tail_len, nrows;
    int per_statement;
    if (!PyArg_ParseTuple(args, "Os#s#O!ni:insert_columns", &connection, &sql, &sql_len,
                          &tail_sql, &tail_len, &PyTuple_Type, &columns, &nrows,
                          &per_statement)) {
        return NULL;
    }
    sqlite3 *db = handle_of(connection);
    if (db == NULL) {
        return NULL;
    }
    if (sqlite3_get_autocommit(db)) {
        PyErr_SetString(PyExc_ValueError, "insert_columns needs an open transaction");
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(columns);
    /* SQLite's own limit on a table's columns (SQLITE_MAX_COLUMN) bounds the arrays below. */
    if (width < 1 || width > 2000 || per_statement < 1 || nrows < 0) {
        PyErr_SetString(PyExc_ValueError, "1 to 2000 columns and a row count of 0 or more");
        return NULL;
    }
    PyObject **cells[width];
    PyObject *constant[width];
    if (batch_columns(columns, width, nrows, cells, constant) < 0) {
        return NULL;
    }
    /* The lists are not changed while we run: no Python code runs until the end. */
    Py_ssize_t whole = nrows / per_statement * per_statement;
    Py_ssize_t row = 0;
    for (int pass = 0; pass < 2; pass++) {
        Py_ssize_t end = pass == 0 ? whole : nrows;
        int rows_per = pass == 0 ? per_statement : 1;
        if (row >= end) {
            continue;
        }
        sqlite3_stmt *stmt = NULL;
        const char *text = pass == 0 ? sql : tail_sql;
        int length = (int)(pass == 0 ? sql_len : tail_len);
        int code = sqlite3_prepare_v2(db, text, length, &stmt, NULL);
        if (code != SQLITE_OK) {
            return sqlite_error(db, code, "prepare");
        }
        if (sqlite3_bind_parameter_count(stmt) != rows_per * width) {
            sqlite3_finalize(stmt);
            PyErr_Format(PyExc_ValueError, "the INSERT has %d placeholders, not %zd",
                         sqlite3_bind_parameter_count(stmt), rows_per * width);
            return NULL;
        }
        for (; row < end; row += rows_per) {
            int at = 1;
            for (int r = 0; r < rows_per; r++) {
                for (Py_ssize_t c = 0; c < width; c++, at++) {
                    PyObject *value = cells[c] ? cells[c][row + r] : constant[c];
                    code = bind_value(stmt, at, value, c, row + r);
                    if (code != SQLITE_OK) {
                        sqlite3_finalize(stmt);
                        return code < 0 ? NULL : sqlite_error(db, code, "bind");
                    }
                }
            }
            code = sqlite3_step(stmt);
            if (code != SQLITE_DONE) {
                sqlite3_finalize(stmt);
                return sqlite_error(db, code, "insert");
            }
            sqlite3_reset(stmt);
        }
        sqlite3_finalize(stmt);
    }
    return PyLong_FromSsize_t(nrows);
}

static PyMethodDef methods[] = {
    {"handle_matches", handle_matches, METH_VARARGS,
     "handle_matches(connection, filename, total_changes) -> bool"},
    {"insert_columns", insert_columns, METH_VARARGS,
     "insert_columns(connection, sql, tail_sql, columns, nrows, per_statement) -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sqlite_rows",
    "A batch of columns inserted into SQLite on a sqlite3 connection's own handle.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__sqlite_rows(void)
{
    return PyModule_Create(&module);
}
