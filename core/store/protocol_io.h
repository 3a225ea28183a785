#pragma once
// Internal to core/store: a run's Protocol <-> the HDF5 group /runs/<id>/protocol (layout in
// docs/session-format.md). Not thread-safe (see hdf5_io.h).

#include <H5Cpp.h>

#include <optional>

#include "core/store/run_protocol.h"

namespace qb::core {

/// Creates `run`/protocol with one subgroup per section present (eval, calibration, bench) and
/// environment, each holding its fields as attributes; baseline_dtype is an attribute of
/// protocol itself.
void writeProtocol(const H5::Group& run, const Protocol& protocol);
/// The protocol stored under `run`; empty when the run has none (written before issue 13).
/// Throws Error "<path>: attribute '…' is missing" for an incomplete section.
[[nodiscard]] std::optional<Protocol> readProtocol(const H5::Group& run);

}  // namespace qb::core
