/* runtime/status.c: error objects (see plugin.h). A NULL status is success;
 * an allocation failure while building a status yields a static one so
 * callers never receive NULL for an error. */
#include "onnxtrain/plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ot_status {
    ot_code_t code;
    bool is_static;
    char *message;
};

static struct ot_status out_of_memory = {OT_ERR_NO_MEMORY, true, "out of memory while reporting an error"};

static ot_status_t *status_vcreate(ot_code_t code, const char *prefix, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    size_t plen = prefix ? strlen(prefix) + 2 : 0;
    ot_status_t *st = malloc(sizeof *st);
    char *msg = n >= 0 ? malloc((size_t)n + plen + 1) : NULL;
    if (!st || !msg) {
        free(st);
        free(msg);
        return &out_of_memory;
    }
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    if (prefix) {
        memmove(msg + plen, msg, (size_t)n + 1);
        memcpy(msg, prefix, plen - 2);
        memcpy(msg + plen - 2, ": ", 2);
    }
    st->code = code == OT_OK ? OT_ERR_RUNTIME : code;
    st->is_static = false;
    st->message = msg;
    return st;
}

ot_status_t *ot_status_create(ot_code_t code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ot_status_t *st = status_vcreate(code, NULL, fmt, ap);
    va_end(ap);
    return st;
}

ot_status_t *ot_status_wrap(ot_status_t *st, const char *fmt, ...) {
    if (!st || st->is_static) return st;
    va_list ap;
    va_start(ap, fmt);
    char prefix[512];
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    ot_status_t *wrapped = ot_status_create(st->code, "%s: %s", prefix, st->message);
    ot_status_free(st);
    return wrapped;
}

ot_code_t ot_status_code(const ot_status_t *st) { return st ? st->code : OT_OK; }
const char *ot_status_message(const ot_status_t *st) { return st ? st->message : ""; }

void ot_status_free(ot_status_t *st) {
    if (!st || st->is_static) return;
    free(st->message);
    free(st);
}

const char *ot_code_name(ot_code_t code) {
    static const char *const names[OT_ERR_CODE_COUNT] = {
        [OT_OK] = "OK",
        [OT_ERR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
        [OT_ERR_INVALID_MODEL] = "INVALID_MODEL",
        [OT_ERR_UNSUPPORTED] = "UNSUPPORTED",
        [OT_ERR_IO] = "IO",
        [OT_ERR_NO_MEMORY] = "NO_MEMORY",
        [OT_ERR_RUNTIME] = "RUNTIME",
    };
    return (unsigned)code < OT_ERR_CODE_COUNT ? names[code] : "UNKNOWN";
}
