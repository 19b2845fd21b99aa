/* runtime/version.c: the library version string. */
#include "onnxtrain/onnxtrain.h"

#define OT_STR2(x) #x
#define OT_STR(x) OT_STR2(x)

const char *ot_version(void) { return OT_STR(OT_VERSION_MAJOR) "." OT_STR(OT_VERSION_MINOR) "." OT_STR(OT_VERSION_PATCH); }
