#include "core/store/hdf5_full_read.h"

#include <hdf5.h>

#include <algorithm>
#include <new>
#include <vector>

namespace qb::core::hdf5 {

namespace {

/// Closes an HDF5 id of any kind on scope exit.
class Id {
public:
    explicit Id(hid_t id) : m_id(id) {}
    ~Id() {
        if (m_id >= 0) H5Idec_ref(m_id);
    }
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    [[nodiscard]] hid_t get() const { return m_id; }
    [[nodiscard]] bool ok() const { return m_id >= 0; }

private:
    hid_t m_id;
};

/// The memory type a value of file type ftype is read as: variable-length strings as char*,
/// everything else as its native equivalent.
hid_t memoryType(hid_t ftype) {
    if (H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) > 0) {
        const hid_t t = H5Tcopy(H5T_C_S1);
        if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5Tget_cset(ftype)) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;  // UTF-8 stays UTF-8: libhdf5 converts no string between character sets
    }
    return H5Tget_native_type(ftype, H5T_DIR_ASCEND);
}

/// Reads all of one attribute (attribute = true) or dataset into a buffer of its full size,
/// reclaiming variable-length data after. Clean failures are ignored.
void readValue(hid_t object, bool attribute) {
    const Id ftype(attribute ? H5Aget_type(object) : H5Dget_type(object));
    const Id space(attribute ? H5Aget_space(object) : H5Dget_space(object));
    if (!ftype.ok() || !space.ok()) return;
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    const Id mtype(memoryType(ftype.get()));
    if (points <= 0 || !mtype.ok()) return;
    const size_t size = H5Tget_size(mtype.get());
    size_t bytes = 0;
    if (size == 0 || __builtin_mul_overflow(size_t(points), size, &bytes)) throw std::bad_alloc();
    std::vector<unsigned char> buffer(bytes);  // throws bad_alloc beyond the probe's bound
    const herr_t read = attribute ? H5Aread(object, mtype.get(), buffer.data())
                                  : H5Dread(object, mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data());
    const bool variable = H5Tdetect_class(mtype.get(), H5T_VLEN) > 0 || H5Tis_variable_str(mtype.get()) > 0;
    if (read >= 0 && variable) H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, buffer.data());
}

/// H5Ovisit2's callback. No exception may unwind through libhdf5's C frames: a bad_alloc
/// stops the visit (a negative return) and is rethrown by readEveryObject.
herr_t visitObject(hid_t root, const char* name, const H5O_info_t* info, void* outOfMemory) {
    try {
        const Id object(H5Oopen(root, name, H5P_DEFAULT));
        if (!object.ok()) return 0;
        for (hsize_t i = 0; i < info->num_attrs; ++i) {
            const Id attribute(H5Aopen_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
            if (attribute.ok()) readValue(attribute.get(), true);
        }
        if (info->type == H5O_TYPE_DATASET) readValue(object.get(), false);
        return 0;  // go on with the next object
    } catch (const std::bad_alloc&) {
        *static_cast<bool*>(outOfMemory) = true;
        return -1;
    }
}

/// True when an error stack entry is libhdf5's "out of memory".
herr_t findAllocationFailure(unsigned, const H5E_error2_t* entry, void* found) {
    if (entry->min_num == H5E_CANTALLOC || entry->min_num == H5E_NOSPACE) *static_cast<bool*>(found) = true;
    return 0;
}

bool g_allocationFailed = false;

herr_t watchErrors(hid_t stack, void*) {
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, findAllocationFailure, &g_allocationFailed);
    return 0;
}

}  // namespace

void readEveryObject(const std::filesystem::path& file, const std::vector<std::string>& skipRootChildren) {
    const Id f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!f.ok()) return;
    constexpr unsigned kFields = H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS;
    bool outOfMemory = false;
    H5O_info_t rootInfo{};
    if (H5Oget_info2(f.get(), &rootInfo, kFields) >= 0 && visitObject(f.get(), ".", &rootInfo, &outOfMemory) < 0)
        throw std::bad_alloc();
    H5G_info_t root{};
    if (H5Gget_info(f.get(), &root) < 0) return;
    for (hsize_t i = 0; i < root.nlinks && !outOfMemory; ++i) {
        char name[1024];
        const ssize_t length = H5Lget_name_by_idx(f.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        if (length < 0 || std::size_t(length) >= sizeof name) continue;  // no reader asks for a longer name
        if (std::find(skipRootChildren.begin(), skipRootChildren.end(), name) != skipRootChildren.end()) continue;
        H5Ovisit_by_name2(f.get(), name, H5_INDEX_NAME, H5_ITER_INC, visitObject, &outOfMemory, kFields, H5P_DEFAULT);
    }
    if (outOfMemory) throw std::bad_alloc();
}

AllocationWatch::AllocationWatch() {
    g_allocationFailed = false;
    H5Eset_auto2(H5E_DEFAULT, watchErrors, nullptr);
}

bool AllocationWatch::allocationFailed() const {
    return g_allocationFailed;
}

}  // namespace qb::core::hdf5
