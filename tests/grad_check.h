// tests/grad_check.h: checks an op's gradient rule and backward kernels
// against central finite differences, in float64, through the standard
// Gradient op and the whole runtime (loader, autodiff, planner, kernels).
//
// For y_o = op(x...), the checked scalar is L = sum_o ReduceSum(y_o * w_o)
// with fixed random weights w_o (so e.g. sum(softmax) = 1 cannot hide a
// wrong gradient). The model holds Gradient(xs = differentiable inputs,
// y = L); its outputs are compared with (L(x + eps) - L(x - eps)) / (2 eps)
// for every element of every differentiable input.
#pragma once

#include <random>

#include "tests/model_builder.h"
#include "tests/op_harness.h"

namespace ot_test {

struct GradInput {
    Tensor value;                // float64 for differentiable inputs
    bool differentiable = true;  // included in Gradient's xs
    bool initializer = false;    // a constant (initializer) rather than a graph input
};

inline GradInput diff(std::vector<int64_t> dims, std::vector<double> v) {
    return GradInput{Tensor::of(OT_DTYPE_DOUBLE, dims, v), true, false};
}
inline GradInput fixed(Tensor t, bool initializer = true) { return GradInput{t, false, initializer}; }

// Deterministic pseudo-random doubles in [lo, hi), optionally kept away
// from the kinks |x| < margin (for Relu-like ops).
inline std::vector<double> random_values(size_t n, uint32_t seed, double lo = -1, double hi = 1, double margin = 0) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<double> v(n);
    for (double &x : v) {
        do x = u(gen);
        while (std::fabs(x) < margin);
    }
    return v;
}

inline void add_attrs(PbModel &pb, Onnx__NodeProto *n, const Node &node) {
    for (const Node::Spec &sp : node.specs) {
        auto *a = pb.attr(n, sp.name, sp.type);
        switch (sp.type) {
        case OT_ATTR_INT: a->has_i = 1, a->i = sp.i; break;
        case OT_ATTR_FLOAT: a->has_f = 1, a->f = sp.f; break;
        case OT_ATTR_STRING: a->has_s = 1, a->s = pb.bin(sp.s); break;
        case OT_ATTR_INTS: a->n_ints = sp.ints.size(), a->ints = pb.copy(sp.ints); break;
        case OT_ATTR_FLOATS: a->n_floats = sp.floats.size(), a->floats = pb.copy(sp.floats); break;
        case OT_ATTR_TENSOR:
            a->t = pb.raw_tensor("", sp.t.dtype, sp.t.dims, std::string(sp.t.bytes.begin(), sp.t.bytes.end()));
            break;
        default: ADD_FAILURE() << "grad_check: attribute type " << sp.type << " not supported"; break;
        }
    }
}

struct GradCheckOptions {
    int n_outputs = 1;                 // outputs the node produces
    std::vector<int> weighted = {0};   // outputs that enter L
    double eps = 1e-6;
    double atol = 1e-6, rtol = 1e-5;
    uint32_t seed = 7;                 // weights w_o
    bool symbolic_dims = false;        // graph inputs declare every dim symbolic, so rules
                                       // must work without load-time shapes
};

// Returns "" when every analytic gradient element matches finite differences.
inline std::string grad_check(const Node &node, std::vector<GradInput> inputs, GradCheckOptions opt = {}) {
    // forward once through the harness, to learn output shapes
    std::vector<Tensor> fwd_in;
    for (auto &in : inputs) fwd_in.push_back(in.value);
    Result fwd = run_op(node, fwd_in, opt.n_outputs, std::vector<bool>(inputs.size(), true));
    if (!fwd.error.empty()) return "forward: " + fwd.error;

    PbModel pb(8, node.opset);
    if (!node.domain.empty()) pb.add_opset(node.domain, node.opset);
    pb.add_opset("ai.onnx.preview.training", 1);
    std::vector<std::string> in_names, xs;
    std::vector<size_t> feed_order; // which inputs are graph inputs, in order
    for (size_t i = 0; i < inputs.size(); i++) {
        std::string name = "x" + std::to_string(i);
        if (!inputs[i].value.present) {
            in_names.push_back("");
            continue;
        }
        in_names.push_back(name);
        const Tensor &t = inputs[i].value;
        std::vector<Dim> dims(t.dims.begin(), t.dims.end());
        if (opt.symbolic_dims)
            for (size_t d = 0; d < dims.size(); d++) dims[d] = Dim(("d" + std::to_string(i) + "_" + std::to_string(d)).c_str());
        if (inputs[i].initializer) {
            pb.init(pb.raw_tensor(name, t.dtype, t.dims, std::string(t.bytes.begin(), t.bytes.end())));
        } else {
            pb.input(name, t.dtype, dims);
            feed_order.push_back(i);
        }
        if (inputs[i].differentiable) xs.push_back(name);
    }
    std::vector<std::string> out_names;
    for (int o = 0; o < opt.n_outputs; o++) out_names.push_back("y" + std::to_string(o));
    auto *n = pb.node(node.op_type, in_names, out_names, "op_under_test");
    if (!node.domain.empty()) n->domain = pb.str(node.domain);
    add_attrs(pb, n, node);

    std::vector<Tensor> weights;
    std::string total;
    for (int o : opt.weighted) {
        const Tensor &y = fwd.outputs[o];
        size_t count = y.bytes.size() / ot_dtype_size(y.dtype);
        Tensor w = Tensor::of(y.dtype, y.dims, random_values(count, opt.seed + o, 0.5, 1.5));
        if (y.dtype != OT_DTYPE_DOUBLE) return "grad_check: weighted outputs must be float64";
        std::string ws = "w" + std::to_string(o), z = "z" + std::to_string(o), s = "s" + std::to_string(o);
        pb.init(pb.raw_tensor(ws, w.dtype, w.dims, std::string(w.bytes.begin(), w.bytes.end())));
        pb.node("Mul", {out_names[o], ws}, {z});
        pb.attr_int(pb.node("ReduceSum", {z}, {s}), "keepdims", 0);
        if (total.empty()) total = s;
        else {
            std::string t = total + "+" + s;
            pb.node("Add", {total, s}, {t});
            total = t;
        }
        weights.push_back(w);
    }
    pb.node("Identity", {total}, {"L"});
    pb.output("L", OT_DTYPE_DOUBLE, {});
    std::vector<std::string> dx_names;
    for (const std::string &x : xs) dx_names.push_back("d" + x);
    auto *g = pb.node("Gradient", xs, dx_names, "gradient");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    axs->n_strings = xs.size();
    axs->strings = pb.alloc<ProtobufCBinaryData>(xs.size());
    for (size_t k = 0; k < xs.size(); k++) axs->strings[k] = pb.bin(xs[k]);
    auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    ay->has_s = 1;
    ay->s = pb.bin("L");
    for (const std::string &d : dx_names) pb.output_any(d);

    Loaded model = load_bytes(pb.bytes(), nullptr, false);
    if (model.st) return "load: " + model.msg();
    ot_session_t *sess = nullptr;
    ot_status_t *st = ot_session_create(model.m, &sess);
    if (st) {
        std::string e = ot_status_message(st);
        ot_status_free(st);
        return "session: " + e;
    }
    size_t n_out = 1 + dx_names.size();
    auto run = [&](std::vector<ot_tensor_t *> &outs) -> std::string {
        std::vector<ot_tensor_t> views;
        views.reserve(feed_order.size());
        std::vector<const ot_tensor_t *> feeds;
        for (size_t i : feed_order) views.push_back(inputs[i].value.view());
        for (auto &v : views) feeds.push_back(&v);
        outs.assign(n_out, nullptr);
        ot_status_t *err = ot_session_run(sess, feeds.data(), outs.data());
        if (!err) return "";
        std::string e = ot_status_message(err);
        ot_status_free(err);
        return e;
    };
    auto free_all = [](std::vector<ot_tensor_t *> &outs) {
        for (auto *t : outs) ot_tensor_destroy(t);
    };
    std::vector<ot_tensor_t *> base;
    std::string err = run(base);
    std::ostringstream why;
    size_t dx_i = 1;
    for (size_t i = 0; err.empty() && i < inputs.size(); i++) {
        if (!inputs[i].differentiable || !inputs[i].value.present) continue;
        const ot_tensor_t *dx = base[dx_i++];
        double *x = reinterpret_cast<double *>(inputs[i].value.bytes.data());
        size_t count = inputs[i].value.bytes.size() / sizeof(double);
        if (dx->dtype != OT_DTYPE_DOUBLE || (size_t)ot_shape_numel(&dx->shape) != count) {
            why << "gradient of input " << i << " has the wrong type or size";
            err = why.str();
            break;
        }
        for (size_t j = 0; j < count && err.empty(); j++) {
            double keep = x[j], l[2];
            for (int side = 0; side < 2 && err.empty(); side++) {
                x[j] = keep + (side ? -opt.eps : opt.eps);
                std::vector<ot_tensor_t *> outs;
                err = run(outs);
                if (err.empty()) l[side] = *(const double *)outs[0]->data;
                free_all(outs);
            }
            x[j] = keep;
            if (!err.empty()) break;
            double numeric = (l[0] - l[1]) / (2 * opt.eps), analytic = ((const double *)dx->data)[j];
            if (!(std::fabs(numeric - analytic) <= opt.atol + opt.rtol * std::fabs(numeric))) {
                why << "d L / d input" << i << "[" << j << "]: analytic " << analytic << ", finite difference "
                    << numeric;
                err = why.str();
            }
        }
    }
    free_all(base);
    ot_session_destroy(sess);
    return err;
}

} // namespace ot_test
