/* tools/cli/cli_schedule.c: `prepare --lr-schedule` flags -> LRSchedule
 * attributes (see cli_schedule.h). */
#include "tools/cli/cli_schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fold(char c) { return c == '-' ? '_' : tolower((unsigned char)c); }

/* The LRSchedule attribute `flag` spells in kebab case, any letter case
 * (--t-max is T_max). */
static const ot_attr_spec_t *schedule_attr(const ot_registry_t *reg, const char *flag) {
    const ot_op_def_t *op = ot_registry_find(reg, OT_DOMAIN, "LRSchedule", 1);
    for (const ot_attr_spec_t *a = op ? op->attrs : NULL; a && a->name; a++) {
        size_t c = 0;
        while (a->name[c] && fold(flag[c]) == fold(a->name[c])) c++;
        if (!a->name[c] && !flag[c] && strcmp(a->name, "schedule")) return a;
    }
    return NULL;
}

static bool parse_int(const char *v, int64_t *out) {
    char *end = NULL;
    *out = strtoll(v, &end, 10);
    return *v && end && !*end;
}

int cli_schedule_flag(const ot_registry_t *reg, const char *schedule, const char *flag, const char *value,
                      cli_schedule_t *s) {
    const ot_attr_spec_t *spec = schedule_attr(reg, flag);
    if (!spec) return 0;
    if (!schedule) {
        fprintf(stderr, "onnxtrain prepare: --%s is a learning-rate schedule flag: it needs --lr-schedule NAME\n",
                flag);
        return 2;
    }
    if (s->n == CLI_SCHEDULE_MAX_ATTRS) {
        fprintf(stderr, "onnxtrain prepare: too many --lr-schedule flags\n");
        return 2;
    }
    ot_attr_t *a = &s->attrs[s->n];
    memset(a, 0, sizeof *a);
    a->name = spec->name;
    a->type = spec->type;
    bool ok = value != NULL;
    if (spec->type == OT_ATTR_INT) {
        a->i = 1; /* a switch given alone (--three-phase) */
        if (value && !strcasecmp(value, "true")) a->i = 1;
        else if (value && !strcasecmp(value, "false")) a->i = 0;
        else ok = !value || parse_int(value, &a->i);
    } else if (spec->type == OT_ATTR_FLOAT && value) {
        char *end = NULL;
        a->f = strtof(value, &end);
        ok = *value && end && !*end;
    } else if (spec->type == OT_ATTR_INTS && value) {
        a->ints = s->ints[s->n];
        for (const char *p = value; ok && *p; a->n++) {
            const char *comma = strchr(p, ',');
            char item[32];
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            ok = a->n < CLI_SCHEDULE_MAX_INTS && len > 0 && len < sizeof item;
            if (ok) {
                memcpy(item, p, len);
                item[len] = 0;
                ok = parse_int(item, &s->ints[s->n][a->n]);
            }
            p = comma ? comma + 1 : p + len;
        }
    } else if (spec->type == OT_ATTR_STRING && value) {
        a->s = value;
        a->s_len = strlen(value);
    }
    if (!ok) {
        fprintf(stderr, "onnxtrain prepare: --%s: bad value '%s'\n", flag, value ? value : "");
        return 2;
    }
    s->n++;
    return 1;
}
