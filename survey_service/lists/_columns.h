/*
 * A batch's columns, as the C row writers (_sqlite_rows.c, _copy_rows.c) read them.
 *
 * The importer hands a batch over as a tuple of columns (sealing.client_columns):
 * each a list or tuple of one value per row, or one value (not a list or
 * tuple) repeated for every row, such as the list's id.
 */

#ifndef SURVEY_COLUMNS_H
#define SURVEY_COLUMNS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Fill cells[c] (the column's values, borrowed) or constant[c] (its one value)
 * for each of the tuple's width columns; -1 with ValueError when a column
 * does not hold nrows values. */
static int
batch_columns(PyObject *columns, Py_ssize_t width, Py_ssize_t nrows, PyObject ***cells,
              PyObject **constant)
{
    for (Py_ssize_t c = 0; c < width; c++) {
        PyObject *column = PyTuple_GET_ITEM(columns, c);
        cells[c] = NULL;
        constant[c] = NULL;
        if (PyList_Check(column) || PyTuple_Check(column)) {
            if (PySequence_Fast_GET_SIZE(column) != nrows) {
                PyErr_Format(PyExc_ValueError, "column %zd has %zd values, not %zd", c,
                             PySequence_Fast_GET_SIZE(column), nrows);
                return -1;
            }
            cells[c] = PySequence_Fast_ITEMS(column);
        } else {
            constant[c] = column;
        }
    }
    return 0;
}

#endif
