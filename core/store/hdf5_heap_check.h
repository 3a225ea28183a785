#pragma once
// A check of an HDF5 file's global heap collections before libhdf5 reads it.
//
// Variable-length strings (every string attribute of a session) live in global heap
// collections ("GCOL" blocks: version 1, 3 reserved bytes, the collection's size, then objects
// of index(2) refcount(2) reserved(4) size(8) data padded to 8 bytes; index 0 is the free
// space). Debian 12's libhdf5 1.10.8 copies an object by its stored size without bounds
// (H5HG_read), so a session with one corrupted size byte crashed quantbench (found by
// tests/fuzz/fuzz_session_store), and a free-space entry of size 0 made it loop forever. This
// walks every collection first and refuses the file when a collection leaves the file, an object
// runs past its collection or the free space is shorter than its own header.

#include <filesystem>

namespace qb::core {

/// Throws Error "damaged HDF5 file: …" (no file name; the caller adds it) when a global heap
/// collection of file is inconsistent; returns normally for a consistent file, or one with no
/// collections. Reads the file through a read-only mapping.
void checkHdf5GlobalHeaps(const std::filesystem::path& file);

}  // namespace qb::core
