#pragma once
// Internal to core/store: typed helpers over the HDF5 C++ API, so the session code reads as
// a list of named fields. Every reader checks presence, rank and size and throws Error
// "<object path>: <problem>"; HDF5's own exceptions (H5::Exception) pass through and are
// turned into one clear line by session_store.cpp.
// Storage types are fixed little-endian (STD_I32LE, STD_U64LE, IEEE_F64LE, ...) whatever the
// host; strings are variable-length UTF-8.
// Not thread-safe: callers serialise access to HDF5 (session_store.cpp holds a mutex).

#include <H5Cpp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.h"
#include "core/util/matrix.h"

namespace qb::core::hdf5 {

/// Turns off HDF5's automatic error printing to stderr (idempotent).
void silenceLibraryErrors();

/// The HDF5 memory and file types of a C++ arithmetic type.
template <class T>
struct Types;
template <>
struct Types<std::int32_t> {
    static const H5::PredType& mem() { return H5::PredType::NATIVE_INT32; }
    static const H5::PredType& file() { return H5::PredType::STD_I32LE; }
};
template <>
struct Types<std::int64_t> {
    static const H5::PredType& mem() { return H5::PredType::NATIVE_INT64; }
    static const H5::PredType& file() { return H5::PredType::STD_I64LE; }
};
template <>
struct Types<std::uint64_t> {
    static const H5::PredType& mem() { return H5::PredType::NATIVE_UINT64; }
    static const H5::PredType& file() { return H5::PredType::STD_U64LE; }
};
template <>
struct Types<double> {
    static const H5::PredType& mem() { return H5::PredType::NATIVE_DOUBLE; }
    static const H5::PredType& file() { return H5::PredType::IEEE_F64LE; }
};
template <>
struct Types<float> {
    static const H5::PredType& mem() { return H5::PredType::NATIVE_FLOAT; }
    static const H5::PredType& file() { return H5::PredType::IEEE_F32LE; }
};

/// Variable-length UTF-8 string type.
[[nodiscard]] H5::StrType stringType();
/// The object's path in the file, for messages ("/modules/model.layers.0.mlp.up_proj").
[[nodiscard]] std::string pathOf(const H5::H5Object& object);

// ---- attributes -------------------------------------------------------------------------

template <class T>
void writeAttribute(const H5::H5Object& object, const std::string& name, T value) {
    H5::Attribute a = object.createAttribute(name, Types<T>::file(), H5::DataSpace(H5S_SCALAR));
    a.write(Types<T>::mem(), &value);
}
void writeAttribute(const H5::H5Object& object, const std::string& name, const std::string& value);
void writeAttribute(const H5::H5Object& object, const std::string& name, const char* value);
void writeAttribute(const H5::H5Object& object, const std::string& name, const std::vector<std::string>& values);

/// Opens attribute name; throws Error "<path>: attribute 'name' is missing".
[[nodiscard]] H5::Attribute openAttribute(const H5::H5Object& object, const std::string& name);

template <class T>
[[nodiscard]] T readAttribute(const H5::H5Object& object, const std::string& name) {
    H5::Attribute a = openAttribute(object, name);
    if (a.getSpace().getSimpleExtentNpoints() != 1 || a.getTypeClass() == H5T_STRING)
        throw Error(pathOf(object) + ": attribute '" + name + "' is not a number");
    T value{};
    a.read(Types<T>::mem(), &value);
    return value;
}
[[nodiscard]] std::string readStringAttribute(const H5::H5Object& object, const std::string& name);
[[nodiscard]] std::vector<std::string> readStringArrayAttribute(const H5::H5Object& object, const std::string& name);

// ---- datasets ---------------------------------------------------------------------------

/// Writes a dataset of shape dims from data (row-major). Datasets of at least
/// kCompressMinBytes are chunked and compressed (shuffle + deflate).
template <class T>
void writeArray(const H5::Group& group, const std::string& name, const T* data, const std::vector<hsize_t>& dims);
void writeStrings(const H5::Group& group, const std::string& name, const std::vector<std::string>& values);
/// A scalar variable-length UTF-8 string dataset (for texts that may exceed the 64 KiB attribute limit).
void writeString(const H5::Group& group, const std::string& name, const std::string& value);

inline void writeVector(const H5::Group& g, const std::string& name, const VectorD& v) {
    writeArray(g, name, v.data(), {hsize_t(v.size())});
}
template <class T>
void writeVector(const H5::Group& g, const std::string& name, const std::vector<T>& v) {
    writeArray(g, name, v.data(), {hsize_t(v.size())});
}
inline void writeMatrix(const H5::Group& g, const std::string& name, const MatrixRM& m) {
    writeArray(g, name, m.data(), {hsize_t(m.rows()), hsize_t(m.cols())});
}

/// Opens dataset name; throws Error "<path>: dataset 'name' is missing".
[[nodiscard]] H5::DataSet openDataSet(const H5::Group& group, const std::string& name);
/// Opens group name; throws Error "<path>: group 'name' is missing".
[[nodiscard]] H5::Group openGroup(const H5::Group& group, const std::string& name);

/// Reads a rank-1 dataset; when expected is given, its length must match.
template <class T>
[[nodiscard]] std::vector<T> readVector(const H5::Group& group, const std::string& name, std::optional<hsize_t> expected = {});
[[nodiscard]] VectorD readVectorD(const H5::Group& group, const std::string& name, std::optional<hsize_t> expected = {});
/// Reads a rank-2 float dataset [rows, cols]; when expectedCols is given, cols must match.
[[nodiscard]] MatrixRM readMatrix(const H5::Group& group, const std::string& name, std::optional<hsize_t> expectedCols = {});
[[nodiscard]] std::vector<std::string> readStrings(const H5::Group& group, const std::string& name,
                                                   std::optional<hsize_t> expected = {});
[[nodiscard]] std::string readString(const H5::Group& group, const std::string& name);

/// The names of the direct children of group, in HDF5's (alphabetical) name order.
[[nodiscard]] std::vector<std::string> childNames(const H5::Group& group);

}  // namespace qb::core::hdf5
