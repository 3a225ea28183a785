#include "core/quant/quant_accelerator.h"

#include "core/backend/backend.h"
#include "core/quant/rtn.h"

namespace qb::core {

namespace {

// The preferred backend's accelerator, or nullptr (and the backend, kept alive by the registry).
const QuantAccelerator* preferredAccelerator(std::shared_ptr<Backend>& backend) {
    backend = BackendRegistry::instance().preferred();
    return backend ? backend->quantAccelerator() : nullptr;
}

}  // namespace

GptqResult quantizeGptqPreferred(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H, const WeightGridSpec& spec,
                                 const GptqOptions& options, const RunContext& ctx, const std::string& what) {
    checkGptqInputs(W, H.rows(), H.cols(), spec, options);  // input errors are the user's, on any device
    std::shared_ptr<Backend> backend;
    if (const QuantAccelerator* acc = preferredAccelerator(backend)) {
        if (!acc->supportsGptq(W.rows(), W.cols())) {
            ctx.log(backend->name() + ": not enough free device memory for " + what + "; it runs on the CPU");
        } else {
            try {
                return acc->gptq(W, H, spec, options, ctx);
            } catch (const Cancelled&) {
                throw;
            } catch (const Error& e) {
                // A device failure is not the user's input: the layer is redone on the CPU,
                // where an input error (non-finite H, exhausted damping) will surface again.
                ctx.log(backend->name() + ": " + e.what() + "; " + what + " runs on the CPU");
            }
        }
    }
    return quantizeGptq(W, H, spec, options, ctx);
}

QuantizedWeight quantizeRtnPreferred(const ConstMatrixRef& W, const WeightGridSpec& spec, const RunContext& ctx,
                                     const std::string& what) {
    std::shared_ptr<Backend> backend;
    const QuantAccelerator* acc = preferredAccelerator(backend);
    if (acc && W.size() >= kRtnDeviceMinWeights) {
        try {
            return acc->rtn(W, spec);
        } catch (const Error& e) {
            ctx.log(backend->name() + ": " + e.what() + "; " + what + " runs on the CPU");
        }
    }
    return quantizeRtn(W, spec);
}

namespace {

// Runs compute on the preferred accelerator when the forms are worth a device and fit; see
// outputEnergiesPreferred in the header.
template <class Compute>
std::optional<std::vector<double>> energiesPreferred(const ConstMatrixRef& W, const ConstMatrixRef& inputs, std::string& where,
                                                     Compute&& compute) {
    where = "cpu";
    std::shared_ptr<Backend> backend;
    const QuantAccelerator* acc = preferredAccelerator(backend);
    if (!acc) return std::nullopt;
    const double macs = double(W.rows()) * double(W.cols()) * double(inputs.rows());
    if (macs < kOutputEnergyDeviceMinMacs) return std::nullopt;
    if (!acc->supportsOutputEnergies(W.rows(), W.cols(), inputs.rows())) {
        where = "cpu (" + backend->name() + ": not enough free device memory)";
        return std::nullopt;
    }
    try {
        std::vector<double> energies = compute(*acc);
        where = backend->name();
        return energies;
    } catch (const Error& e) {
        where = "cpu (" + backend->name() + ": " + e.what() + ")";
        return std::nullopt;
    }
}

}  // namespace

std::optional<std::vector<double>> outputEnergiesPreferred(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                           bool inputsAreGram, const std::vector<WeightGridSpec>& specs,
                                                           std::string& where) {
    return energiesPreferred(W, inputs, where, [&](const QuantAccelerator& acc) {
        return acc.rtnOutputEnergies(W, inputs, inputsAreGram, specs);
    });
}

std::optional<std::vector<double>> scaledEnergiesPreferred(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                           bool inputsAreGram, const WeightGridSpec& spec,
                                                           const std::vector<VectorF>& columnScales, std::string& where) {
    return energiesPreferred(W, inputs, where, [&](const QuantAccelerator& acc) {
        return acc.scaledRtnOutputEnergies(W, inputs, inputsAreGram, spec, columnScales);
    });
}

}  // namespace qb::core
