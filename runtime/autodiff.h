/* runtime/autodiff.h: reverse-mode automatic differentiation as a graph
 * transform. The backward is appended to the graph as ordinary nodes, so the
 * planner schedules it and keeps the forward values it reads alive. */
#ifndef ONNXTRAIN_AUTODIFF_H
#define ONNXTRAIN_AUTODIFF_H

#include "runtime/ir.h"

/* Appends to m's graph the nodes computing d(y)/d(xs[k]) for k < n_xs and
 * returns their value indices in dxs. `seed` is the value of dL/dy (-1: ones
 * of y's shape, i.e. the gradient of sum(y)). The graph must be validated
 * (types inferred); afterwards it must be validated again, which resolves
 * and types the new nodes. A node on the path without a gradient rule is an
 * error naming it. xs that y does not depend on get zeros. */
ot_status_t *ot_autodiff(ot_model_t *m, int y, int seed, int n_xs, const int *xs, int *dxs);

/* Replaces every ai.onnx.preview.training::Gradient node by the backward
 * graph it stands for (ONNX Gradient-1: outputs are dy/dxs). Called by the
 * validator after shape inference; sets *expanded when it changed the graph. */
ot_status_t *ot_expand_gradient_nodes(ot_model_t *m, bool *expanded);

#endif
