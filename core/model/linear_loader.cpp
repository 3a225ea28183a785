// makeLinearFromCheckpoint: the one place that decides how a module's tensors become a Linear.
#include "core/model/llama_model.h"

namespace qb::core {

LinearPtr makeDenseLinearFromCheckpoint(const Checkpoint& ckpt, const std::string& name, Index out, Index in);

LinearPtr makeLinearFromCheckpoint(const Checkpoint& ckpt, const std::string& name, Index out, Index in) {
    return makeDenseLinearFromCheckpoint(ckpt, name, out, in);
}

}  // namespace qb::core
