#include "core/store/hdf5_io.h"

#include <algorithm>
#include <mutex>

namespace qb::core::hdf5 {
namespace {

constexpr hsize_t kCompressMinBytes = 64 * 1024;
constexpr int kDeflateLevel = 4;

std::string quoted(const std::string& name) { return "'" + name + "'"; }

/// Reads the dims of a dataset and checks its rank.
std::vector<hsize_t> dimsOf(const H5::DataSet& ds, const H5::Group& group, const std::string& name, int rank) {
    const H5::DataSpace space = ds.getSpace();
    const int actual = space.getSimpleExtentNdims();
    if (actual != rank)
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " has rank " + std::to_string(actual) + ", expected " +
                    std::to_string(rank));
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    space.getSimpleExtentDims(dims.data());
    return dims;
}

void checkLength(const H5::Group& group, const std::string& name, hsize_t actual, std::optional<hsize_t> expected) {
    if (expected && actual != *expected)
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " has " + std::to_string(actual) + " values, expected " +
                    std::to_string(*expected));
}

/// Copies n variable-length strings out of an HDF5 read buffer and frees the buffer's strings.
std::vector<std::string> takeStrings(std::vector<char*>& buffer, const H5::DataSpace& space) {
    std::vector<std::string> out;
    out.reserve(buffer.size());
    for (char* s : buffer) out.emplace_back(s ? s : "");
    H5::DataSet::vlenReclaim(buffer.data(), stringType(), space);
    return out;
}

}  // namespace

void silenceLibraryErrors() {
    static std::once_flag once;
    std::call_once(once, [] { H5::Exception::dontPrint(); });
}

H5::StrType stringType() {
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    t.setCset(H5T_CSET_UTF8);
    return t;
}

std::string pathOf(const H5::H5Object& object) {
    const std::string path = object.getObjName();
    return path.empty() ? std::string("/") : path;
}

// ---- attributes -------------------------------------------------------------------------

void writeAttribute(const H5::H5Object& object, const std::string& name, const std::string& value) {
    const H5::StrType t = stringType();
    H5::Attribute a = object.createAttribute(name, t, H5::DataSpace(H5S_SCALAR));
    a.write(t, value);
}

void writeAttribute(const H5::H5Object& object, const std::string& name, const char* value) {
    writeAttribute(object, name, std::string(value));
}

void writeAttribute(const H5::H5Object& object, const std::string& name, const std::vector<std::string>& values) {
    const H5::StrType t = stringType();
    const hsize_t n = values.size();
    H5::Attribute a = object.createAttribute(name, t, H5::DataSpace(1, &n));
    if (n == 0) return;
    std::vector<const char*> pointers;
    for (const std::string& v : values) pointers.push_back(v.c_str());
    a.write(t, pointers.data());
}

H5::Attribute openAttribute(const H5::H5Object& object, const std::string& name) {
    if (!object.attrExists(name)) throw Error(pathOf(object) + ": attribute " + quoted(name) + " is missing");
    return object.openAttribute(name);
}

std::string readStringAttribute(const H5::H5Object& object, const std::string& name) {
    H5::Attribute a = openAttribute(object, name);
    if (a.getTypeClass() != H5T_STRING || a.getSpace().getSimpleExtentNpoints() != 1)
        throw Error(pathOf(object) + ": attribute " + quoted(name) + " is not a string");
    std::string value;
    a.read(a.getStrType(), value);
    return value;
}

std::vector<std::string> readStringArrayAttribute(const H5::H5Object& object, const std::string& name) {
    H5::Attribute a = openAttribute(object, name);
    const H5::DataSpace space = a.getSpace();
    if (a.getTypeClass() != H5T_STRING || !a.getStrType().isVariableStr() || space.getSimpleExtentNdims() != 1)
        throw Error(pathOf(object) + ": attribute " + quoted(name) + " is not a list of strings");
    std::vector<char*> buffer(std::size_t(space.getSimpleExtentNpoints()), nullptr);
    if (buffer.empty()) return {};
    a.read(stringType(), buffer.data());
    return takeStrings(buffer, space);
}

// ---- datasets ---------------------------------------------------------------------------

template <class T>
void writeArray(const H5::Group& group, const std::string& name, const T* data, const std::vector<hsize_t>& dims) {
    const H5::DataSpace space(int(dims.size()), dims.data());
    hsize_t count = 1;
    for (hsize_t d : dims) count *= d;
    H5::DSetCreatPropList create;
    if (count * sizeof(T) >= kCompressMinBytes) {
        // Chunks of about 64 KiB: whole rows where they fit.
        std::vector<hsize_t> chunk = dims;
        const hsize_t rowElems = count / std::max<hsize_t>(dims.front(), 1);
        chunk.front() = std::clamp<hsize_t>(kCompressMinBytes / sizeof(T) / std::max<hsize_t>(rowElems, 1), 1, dims.front());
        create.setChunk(int(chunk.size()), chunk.data());
        create.setShuffle();
        create.setDeflate(kDeflateLevel);
    }
    H5::DataSet ds = group.createDataSet(name, Types<T>::file(), space, create);
    if (count > 0) ds.write(data, Types<T>::mem());
}

template void writeArray<std::int32_t>(const H5::Group&, const std::string&, const std::int32_t*, const std::vector<hsize_t>&);
template void writeArray<std::int64_t>(const H5::Group&, const std::string&, const std::int64_t*, const std::vector<hsize_t>&);
template void writeArray<std::uint64_t>(const H5::Group&, const std::string&, const std::uint64_t*, const std::vector<hsize_t>&);
template void writeArray<double>(const H5::Group&, const std::string&, const double*, const std::vector<hsize_t>&);
template void writeArray<float>(const H5::Group&, const std::string&, const float*, const std::vector<hsize_t>&);

void writeStrings(const H5::Group& group, const std::string& name, const std::vector<std::string>& values) {
    const H5::StrType t = stringType();
    const hsize_t n = values.size();
    H5::DataSet ds = group.createDataSet(name, t, H5::DataSpace(1, &n));
    if (n == 0) return;
    std::vector<const char*> pointers;
    for (const std::string& v : values) pointers.push_back(v.c_str());
    ds.write(pointers.data(), t);
}

void writeString(const H5::Group& group, const std::string& name, const std::string& value) {
    const H5::StrType t = stringType();
    H5::DataSet ds = group.createDataSet(name, t, H5::DataSpace(H5S_SCALAR));
    ds.write(value, t);
}

H5::DataSet openDataSet(const H5::Group& group, const std::string& name) {
    if (!group.nameExists(name) || group.childObjType(name) != H5O_TYPE_DATASET)
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " is missing");
    return group.openDataSet(name);
}

H5::Group openGroup(const H5::Group& group, const std::string& name) {
    if (!group.nameExists(name) || group.childObjType(name) != H5O_TYPE_GROUP)
        throw Error(pathOf(group) + ": group " + quoted(name) + " is missing");
    return group.openGroup(name);
}

template <class T>
std::vector<T> readVector(const H5::Group& group, const std::string& name, std::optional<hsize_t> expected) {
    const H5::DataSet ds = openDataSet(group, name);
    if (ds.getTypeClass() == H5T_STRING) throw Error(pathOf(group) + ": dataset " + quoted(name) + " is not numeric");
    const hsize_t n = dimsOf(ds, group, name, 1).front();
    checkLength(group, name, n, expected);
    std::vector<T> out(n);
    if (n > 0) ds.read(out.data(), Types<T>::mem());
    return out;
}

template std::vector<std::int32_t> readVector<std::int32_t>(const H5::Group&, const std::string&, std::optional<hsize_t>);
template std::vector<std::int64_t> readVector<std::int64_t>(const H5::Group&, const std::string&, std::optional<hsize_t>);
template std::vector<std::uint64_t> readVector<std::uint64_t>(const H5::Group&, const std::string&, std::optional<hsize_t>);
template std::vector<double> readVector<double>(const H5::Group&, const std::string&, std::optional<hsize_t>);
template std::vector<float> readVector<float>(const H5::Group&, const std::string&, std::optional<hsize_t>);

VectorD readVectorD(const H5::Group& group, const std::string& name, std::optional<hsize_t> expected) {
    const std::vector<double> v = readVector<double>(group, name, expected);
    return Eigen::Map<const VectorD>(v.data(), Index(v.size()));
}

MatrixRM readMatrix(const H5::Group& group, const std::string& name, std::optional<hsize_t> expectedCols) {
    const H5::DataSet ds = openDataSet(group, name);
    if (ds.getTypeClass() == H5T_STRING) throw Error(pathOf(group) + ": dataset " + quoted(name) + " is not numeric");
    const std::vector<hsize_t> dims = dimsOf(ds, group, name, 2);
    if (expectedCols && dims[1] != *expectedCols)
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " has " + std::to_string(dims[1]) + " columns, expected " +
                    std::to_string(*expectedCols));
    MatrixRM m(static_cast<Index>(dims[0]), static_cast<Index>(dims[1]));
    if (m.size() > 0) ds.read(m.data(), Types<float>::mem());
    return m;
}

std::vector<std::string> readStrings(const H5::Group& group, const std::string& name, std::optional<hsize_t> expected) {
    const H5::DataSet ds = openDataSet(group, name);
    if (ds.getTypeClass() != H5T_STRING || !ds.getStrType().isVariableStr())
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " is not a list of strings");
    const hsize_t n = dimsOf(ds, group, name, 1).front();
    checkLength(group, name, n, expected);
    std::vector<char*> buffer(n, nullptr);
    if (n == 0) return {};
    const H5::DataSpace space = ds.getSpace();
    ds.read(buffer.data(), stringType());
    return takeStrings(buffer, space);
}

std::string readString(const H5::Group& group, const std::string& name) {
    const H5::DataSet ds = openDataSet(group, name);
    if (ds.getTypeClass() != H5T_STRING || ds.getSpace().getSimpleExtentNpoints() != 1)
        throw Error(pathOf(group) + ": dataset " + quoted(name) + " is not a string");
    std::string value;
    ds.read(value, ds.getStrType());
    return value;
}

std::vector<std::string> childNames(const H5::Group& group) {
    std::vector<std::string> names;
    const hsize_t n = group.getNumObjs();
    for (hsize_t i = 0; i < n; ++i) names.push_back(group.getObjnameByIdx(i));
    return names;
}

}  // namespace qb::core::hdf5
