/*
 * survey_service.privacy._sealer: AES-256-GCM and HMAC-SHA256 over a batch.
 *
 * A list import seals two values and hashes one per row, a million rows at a
 * time; in Python each costs a method call, a bytes slice, a concatenation
 * and a base64 call around the cipher itself, about as much again as the
 * cipher. This module runs the same loop in C over the system OpenSSL's EVP
 * API (libcrypto 3): one cipher context keyed once per batch, one MAC
 * context reused for every value. No cryptography is written here, only the
 * loop, base64 and hex; the output is byte-for-byte what vault.py's Python
 * loops give, which stay as the fallback when this module is not built
 * (see survey_service/native_build.py). Beside them, the masks shown for
 * the same numbers (138****5678), made in the same batches.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define DIGEST_LEN 32

/* Raise RuntimeError naming the failed call and OpenSSL's first queued error. */
static void *
openssl_error(const char *call)
{
    unsigned long code = ERR_get_error();
    char reason[256] = "no OpenSSL error queued";
    if (code != 0) {
        ERR_error_string_n(code, reason, sizeof reason);
    }
    ERR_clear_error();
    PyErr_Format(PyExc_RuntimeError, "%s failed: %s", call, reason);
    return NULL;
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding, no newline; returns the characters written. */
static Py_ssize_t
b64encode(const unsigned char *in, Py_ssize_t len, Py_UCS1 *out)
{
    Py_UCS1 *start = out;
    Py_ssize_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned int n = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        *out++ = B64[(n >> 18) & 63];
        *out++ = B64[(n >> 12) & 63];
        *out++ = B64[(n >> 6) & 63];
        *out++ = B64[n & 63];
    }
    if (i < len) {
        unsigned int n = in[i] << 16;
        if (i + 1 < len) {
            n |= in[i + 1] << 8;
        }
        *out++ = B64[(n >> 18) & 63];
        *out++ = B64[(n >> 12) & 63];
        *out++ = i + 1 < len ? B64[(n >> 6) & 63] : '=';
        *out++ = '=';
    }
    return out - start;
}

/* The UTF-8 of values[i], or a TypeError naming the index. */
static const char *
utf8_of(PyObject *value, Py_ssize_t i, Py_ssize_t *len)
{
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "values[%zd] is %.100s, not str", i,
                     Py_TYPE(value)->tp_name);
        return NULL;
    }
    const char *data = PyUnicode_AsUTF8AndSize(value, len);
    if (data != NULL && *len > INT_MAX - NONCE_LEN - TAG_LEN) {
        PyErr_Format(PyExc_ValueError, "values[%zd] is too long", i);
        return NULL;
    }
    return data;
}

/* Seal one plaintext into buf as nonce || ciphertext || tag; 0 on error. */
static int
seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *nonce, const unsigned char *aad,
         int aad_len, const char *text, int text_len, unsigned char *buf)
{
    int n = 0, tail = 0;
    memcpy(buf, nonce, NONCE_LEN);
    if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce)) {
        openssl_error("EVP_EncryptInit_ex (nonce)");
        return 0;
    }
    if (aad_len > 0 && !EVP_EncryptUpdate(ctx, NULL, &n, aad, aad_len)) {
        openssl_error("EVP_EncryptUpdate (associated data)");
        return 0;
    }
    if (!EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, (const unsigned char *)text, text_len)) {
        openssl_error("EVP_EncryptUpdate");
        return 0;
    }
    if (!EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &tail)) {
        openssl_error("EVP_EncryptFinal_ex");
        return 0;
    }
    if (n + tail != text_len) {
        PyErr_SetString(PyExc_RuntimeError, "AES-GCM wrote an unexpected ciphertext length");
        return 0;
    }
    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + text_len)) {
        openssl_error("EVP_CIPHER_CTX_ctrl (get tag)");
        return 0;
    }
    return 1;
}

/* prefix + base64(sealed) as a new ASCII str. */
static PyObject *
token(const char *prefix, Py_ssize_t prefix_len, const unsigned char *sealed, Py_ssize_t len)
{
    Py_ssize_t b64_len = 4 * ((len + 2) / 3);
    PyObject *out = PyUnicode_New(prefix_len + b64_len, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *chars = PyUnicode_1BYTE_DATA(out);
    memcpy(chars, prefix, prefix_len);
    b64encode(sealed, len, chars + prefix_len);
    return out;
}

static PyObject *
seal_batch(const Py_buffer *key, const Py_buffer *nonces, PyObject *seq, const Py_buffer *aad,
           const char *prefix, Py_ssize_t prefix_len)
{
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    const unsigned char *nonce = nonces->buf;
    PyObject *out = NULL, *result = NULL;
    unsigned char *buf = NULL;
    Py_ssize_t buf_size = 0;
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx = NULL;

    if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
        openssl_error("EVP_CIPHER_fetch (AES-256-GCM)");
        goto done;
    }
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
        openssl_error("EVP_CIPHER_CTX_new");
        goto done;
    }
    if (!EVP_EncryptInit_ex(ctx, cipher, NULL, key->buf, NULL)) {
        openssl_error("EVP_EncryptInit_ex (key)");
        goto done;
    }
    if ((out = PyList_New(count)) == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++, nonce += NONCE_LEN) {
        PyObject *value = items[i], *item;
        if (value == Py_None) {
            PyList_SET_ITEM(out, i, Py_NewRef(Py_None));
            continue;
        }
        Py_ssize_t text_len;
        const char *text = utf8_of(value, i, &text_len);
        if (text == NULL) {
            goto done;
        }
        Py_ssize_t sealed_len = NONCE_LEN + text_len + TAG_LEN;
        if (sealed_len > buf_size) {
            PyMem_Free(buf);
            buf_size = sealed_len < 256 ? 256 : sealed_len;
            if ((buf = PyMem_Malloc(buf_size)) == NULL) {
                PyErr_NoMemory();
                goto done;
            }
        }
        if (!seal_one(ctx, nonce, aad->buf, (int)aad->len, text, (int)text_len, buf)) {
            goto done;
        }
        if ((item = token(prefix, prefix_len, buf, sealed_len)) == NULL) {
            goto done;
        }
        PyList_SET_ITEM(out, i, item);
    }
    result = out;
    out = NULL;
done:
    Py_XDECREF(out);
    PyMem_Free(buf);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return result;
}

PyDoc_STRVAR(seal_many_doc,
"seal_many(key, nonces, values, aad, prefix) -> list[str | None]\n\n"
"AES-256-GCM of each value's UTF-8 under the 32-byte key, value i with the\n"
"nonce nonces[12*i:12*i+12] and the associated data aad: each token is\n"
"prefix + base64(nonce + ciphertext + 16-byte tag). None stays None.");

static PyObject *
seal_many(PyObject *self, PyObject *args)
{
    Py_buffer key = {0}, nonces = {0}, aad = {0};
    PyObject *values, *prefix, *seq = NULL, *result = NULL;
    Py_ssize_t prefix_len;

    if (!PyArg_ParseTuple(args, "y*y*Oy*U:seal_many", &key, &nonces, &values, &aad, &prefix)) {
        return NULL;
    }
    const char *prefix_utf8 = PyUnicode_AsUTF8AndSize(prefix, &prefix_len);
    if (prefix_utf8 == NULL) {
        goto done;
    }
    if (prefix_len != PyUnicode_GET_LENGTH(prefix)) {
        PyErr_SetString(PyExc_ValueError, "prefix must be ASCII");
        goto done;
    }
    if (key.len != KEY_LEN) {
        PyErr_Format(PyExc_ValueError, "key must be %d bytes, not %zd", KEY_LEN, key.len);
        goto done;
    }
    if (aad.len > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "aad is too long");
        goto done;
    }
    if ((seq = PySequence_Fast(values, "values must be a sequence")) == NULL) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (nonces.len / NONCE_LEN != count || nonces.len % NONCE_LEN != 0) {
        PyErr_Format(PyExc_ValueError, "nonces must be %d bytes per value: %zd bytes for %zd",
                     NONCE_LEN, nonces.len, count);
        goto done;
    }
    result = seal_batch(&key, &nonces, seq, &aad, prefix_utf8, prefix_len);
done:
    Py_XDECREF(seq);
    PyBuffer_Release(&key);
    PyBuffer_Release(&nonces);
    PyBuffer_Release(&aad);
    return result;
}

static const char HEX[] = "0123456789abcdef";

static PyObject *
hmac_batch(const Py_buffer *key, PyObject *seq)
{
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = NULL, *result = NULL;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    unsigned char digest[DIGEST_LEN];
    /* hmac.new accepts an empty key; OpenSSL wants a pointer all the same. */
    static const unsigned char empty = 0;
    const unsigned char *key_bytes = key->len ? key->buf : &empty;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };

    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
        openssl_error("EVP_MAC_fetch (HMAC)");
        goto done;
    }
    if ((ctx = EVP_MAC_CTX_new(mac)) == NULL) {
        openssl_error("EVP_MAC_CTX_new");
        goto done;
    }
    if ((out = PyList_New(count)) == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t len;
        size_t digest_len = 0;
        const char *text = utf8_of(items[i], i, &len);
        if (text == NULL) {
            goto done;
        }
        /* The first init sets the key and digest; later ones restart from the
         * padded key's state kept in the context. */
        int ok = i == 0 ? EVP_MAC_init(ctx, key_bytes, key->len, params)
                        : EVP_MAC_init(ctx, NULL, 0, NULL);
        if (!ok) {
            openssl_error("EVP_MAC_init");
            goto done;
        }
        if (!EVP_MAC_update(ctx, (const unsigned char *)text, len)) {
            openssl_error("EVP_MAC_update");
            goto done;
        }
        if (!EVP_MAC_final(ctx, digest, &digest_len, sizeof digest)) {
            openssl_error("EVP_MAC_final");
            goto done;
        }
        if (digest_len != DIGEST_LEN) {
            PyErr_SetString(PyExc_RuntimeError, "HMAC-SHA256 gave an unexpected length");
            goto done;
        }
        PyObject *hex = PyUnicode_New(2 * DIGEST_LEN, 127);
        if (hex == NULL) {
            goto done;
        }
        Py_UCS1 *chars = PyUnicode_1BYTE_DATA(hex);
        for (int b = 0; b < DIGEST_LEN; b++) {
            chars[2 * b] = HEX[digest[b] >> 4];
            chars[2 * b + 1] = HEX[digest[b] & 15];
        }
        PyList_SET_ITEM(out, i, hex);
    }
    result = out;
    out = NULL;
done:
    Py_XDECREF(out);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return result;
}

PyDoc_STRVAR(hmac_hex_many_doc,
"hmac_hex_many(key, values) -> list[str]\n\n"
"Lowercase hex HMAC-SHA256 of each value's UTF-8 under key, as\n"
"hmac.new(key, value.encode(), 'sha256').hexdigest() gives.");

static PyObject *
hmac_hex_many(PyObject *self, PyObject *args)
{
    Py_buffer key = {0};
    PyObject *values, *seq = NULL, *result = NULL;

    if (!PyArg_ParseTuple(args, "y*O:hmac_hex_many", &key, &values)) {
        return NULL;
    }
    if ((seq = PySequence_Fast(values, "values must be a sequence")) != NULL) {
        result = hmac_batch(&key, seq);
    }
    Py_XDECREF(seq);
    PyBuffer_Release(&key);
    return result;
}

/* vault.mask_phone of one ASCII str: the first three and last four digits shown. */
static PyObject *
mask_ascii(const char *phone, Py_ssize_t len)
{
    const char *digits = phone;
    if (len >= 3 && memcmp(phone, "+86", 3) == 0) {
        digits += 3;
    } else {
        while (digits < phone + len && *digits == '+') {
            digits++;
        }
    }
    Py_ssize_t n = phone + len - digits;
    Py_ssize_t head = n <= 7 ? 0 : 3, tail = n <= 7 ? (n < 2 ? n : 2) : 4;
    Py_ssize_t stars = n <= 7 ? (n < 2 ? 0 : n - 2) : n - 7;
    PyObject *out = PyUnicode_New(head + stars + tail, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *at = PyUnicode_1BYTE_DATA(out);
    memcpy(at, digits, head);
    memset(at + head, '*', stars);
    memcpy(at + head + stars, digits + n - tail, tail);
    return out;
}

PyDoc_STRVAR(mask_many_doc,
             "mask_many(phones, fallback) -> list[str]\n\n"
             "vault.mask_phone of each value: an ASCII str here, any other value by\n"
             "fallback(value) (the Python function, for the same result).");

static PyObject *
mask_many(PyObject *self, PyObject *args)
{
    PyObject *phones, *fallback;
    if (!PyArg_ParseTuple(args, "OO:mask_many", &phones, &fallback)) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(phones, "phones must be a sequence");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *phone = items[i], *masked;
        if (PyUnicode_CheckExact(phone) && PyUnicode_IS_ASCII(phone)) {
            masked = mask_ascii((const char *)PyUnicode_1BYTE_DATA(phone),
                                PyUnicode_GET_LENGTH(phone));
        } else {
            masked = PyObject_CallOneArg(fallback, phone);
        }
        if (masked == NULL) {
            Py_DECREF(result);
            Py_DECREF(seq);
            return NULL;
        }
        PyList_SET_ITEM(result, i, masked);
    }
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"seal_many", seal_many, METH_VARARGS, seal_many_doc},
    {"mask_many", mask_many, METH_VARARGS, mask_many_doc},
    {"hmac_hex_many", hmac_hex_many, METH_VARARGS, hmac_hex_many_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "survey_service.privacy._sealer",
    .m_doc = "AES-256-GCM sealing and HMAC-SHA256 hashing of a batch over OpenSSL's EVP API.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__sealer(void)
{
    return PyModuleDef_Init(&module);
}
