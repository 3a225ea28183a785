#include "core/store/hdf5_heap_check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/util/error.h"

namespace qb::core {

namespace {

std::uint64_t le(const unsigned char* p, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// The objects of the collection at [begin, begin + size), walked as libhdf5 1.10 walks them
// (H5HG__cache_heap_deserialize): an object takes 16 + its size rounded up to 8 bytes; the free
// space (index 0) takes its size, header included. Each must lie inside the collection, and the
// free space must cover at least its header — libhdf5 loops forever on one of size 0.
void checkCollection(const unsigned char* base, std::uint64_t begin, std::uint64_t size) {
    constexpr std::uint64_t kHeader = 16, kObjectHeader = 16;
    std::uint64_t at = begin + kHeader;
    const std::uint64_t end = begin + size;
    while (at + kObjectHeader <= end) {  // a shorter tail is free space without a header
        const std::uint64_t index = le(base + at, 2);
        const std::uint64_t objectSize = le(base + at + 8, 8);
        const std::uint64_t room = end - at;
        if (index == 0) {
            if (objectSize < kObjectHeader || objectSize > room)
                throw Error("damaged HDF5 file: the free space of the global heap collection at byte " + std::to_string(begin) +
                            " claims " + std::to_string(objectSize) + " bytes, " + std::to_string(room) + " remain");
            at += objectSize;
            continue;
        }
        if (objectSize > room - kObjectHeader)
            throw Error("damaged HDF5 file: global heap object " + std::to_string(index) + " at byte " + std::to_string(at) +
                        " claims " + std::to_string(objectSize) + " bytes, " + std::to_string(room - kObjectHeader) +
                        " remain in its collection");
        at += kObjectHeader + ((objectSize + 7) / 8) * 8;
    }
}

}  // namespace

void checkHdf5GlobalHeaps(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // unreadable: libhdf5's own open reports it
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size < 32) {
        ::close(fd);
        return;
    }
    const auto n = std::uint64_t(st.st_size);
    void* map = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return;
    const auto* base = static_cast<const unsigned char*>(map);
    try {
        // A collection is at least 4096 bytes (H5HG_MINSIZE) and starts "GCOL", version 1, three zero bytes.
        const std::uint64_t last = n - 16;  // a collection header is 16 bytes
        for (std::uint64_t pos = 0; pos < last; ++pos) {
            const void* hit = std::memchr(base + pos, 'G', last - pos);
            if (hit == nullptr) break;
            pos = std::uint64_t(static_cast<const unsigned char*>(hit) - base);
            if (std::memcmp(base + pos, "GCOL\x01\0\0\0", 8) != 0) continue;
            const std::uint64_t size = le(base + pos + 8, 8);
            if (size < 4096) continue;  // not a collection header (data that happens to spell GCOL)
            if (size > n - pos)
                throw Error("damaged HDF5 file: the global heap collection at byte " + std::to_string(pos) + " claims " +
                            std::to_string(size) + " bytes, past the end of the file");
            checkCollection(base, pos, size);
        }
    } catch (...) {
        ::munmap(map, n);
        throw;
    }
    ::munmap(map, n);
}

}  // namespace qb::core
