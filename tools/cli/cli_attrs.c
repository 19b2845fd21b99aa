/* tools/cli/cli_attrs.c: see cli_attrs.h. */
#include "tools/cli/cli_attrs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fold(char c) { return c == '-' ? '_' : tolower((unsigned char)c); }

const ot_attr_spec_t *cli_attr_find(const ot_op_def_t *op, const char *flag) {
    for (const ot_attr_spec_t *s = op ? op->attrs : NULL; s && s->name; s++) {
        size_t c = 0;
        while (s->name[c] && fold(flag[c]) == fold(s->name[c])) c++;
        if (!s->name[c] && !flag[c]) return s;
    }
    return NULL;
}

static bool parse_int(const char *v, int64_t *out) {
    char *end = NULL;
    *out = strtoll(v, &end, 10);
    return *v && !*end;
}

static bool parse_float(const char *v, float *out) {
    char *end = NULL;
    *out = strtof(v, &end);
    return *v && !*end;
}

/* "a,b,c" into ints or floats (exactly one non-NULL); the count, or -1. */
static int parse_list(const char *v, int64_t *ints, float *floats) {
    int n = 0;
    for (const char *p = v; *p; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (n == CLI_MAX_LIST || len == 0 || len >= sizeof item) return -1;
        memcpy(item, p, len);
        item[len] = 0;
        if (ints ? !parse_int(item, &ints[n]) : !parse_float(item, &floats[n])) return -1;
        p = comma ? comma + 1 : p + len;
    }
    return n > 0 ? n : -1;
}

bool cli_attr_add(cli_attrs_t *a, const ot_attr_spec_t *spec, const char *shown, const char *value) {
    if (a->n == CLI_MAX_ATTRS) {
        fprintf(stderr, "onnxtrain prepare: %s: too many attribute flags (at most %d)\n", shown, CLI_MAX_ATTRS);
        return false;
    }
    ot_attr_t *at = &a->attrs[a->n];
    memset(at, 0, sizeof *at);
    at->name = spec->name;
    at->type = spec->type;
    bool ok = value != NULL;
    switch (spec->type) {
    case OT_ATTR_INT:
        at->i = 1; /* a switch given alone */
        if (value && !strcasecmp(value, "true")) at->i = 1;
        else if (value && !strcasecmp(value, "false")) at->i = 0;
        else ok = !value || parse_int(value, &at->i);
        break;
    case OT_ATTR_FLOAT: ok = ok && parse_float(value, &at->f); break;
    case OT_ATTR_FLOATS:
        at->floats = a->floats[a->n];
        ok = ok && (at->n = parse_list(value, NULL, a->floats[a->n])) > 0;
        break;
    case OT_ATTR_INTS:
        at->ints = a->ints[a->n];
        ok = ok && (at->n = parse_list(value, a->ints[a->n], NULL)) > 0;
        break;
    case OT_ATTR_STRING:
        at->s = value;
        at->s_len = value ? strlen(value) : 0;
        break;
    default: ok = false; break;
    }
    if (!ok) {
        fprintf(stderr, "onnxtrain prepare: %s: bad value '%s'\n", shown, value ? value : "");
        return false;
    }
    a->n++;
    return true;
}
