#pragma once
// Internal to core/kernels: how the tile kernels are spread over threads, and the slab GEMM
// used for n ≥ 2 rows. Not for use outside core/kernels.
//
// Matrix–vector: the tiles are cut into kChunksPerThread chunks per thread handed out
// dynamically, so a thread that loses its core for a while (the machine is shared) does not
// hold the others up.
// Matrix–matrix (slab GEMM):
//
//        Xp [n, P]             Wt slab [P, S·8]          Y [n, rows]
//   ┌──────────────┐      ┌──┬──┬──┐                ┌──┬──┬──┬──┐
//   │ row block 0  │  ·   │t0│t1│..│  (dequantized   │  │▓▓│  │  │  task = (row block, slab)
//   │ row block 1  │      │  │  │  │   per task,     │  │  │  │  │
//   └──────────────┘      └──┴──┴──┘   ≤ 256 KB)     └──┴──┴──┴──┘
//
// P is the packed input length (activations gathered into packed order first).

#include <algorithm>
#include <vector>

#include "core/backend/backend.h"
#include "core/util/matrix.h"

namespace qb::core::kernels::detail {

/// Below this many streamed weight bytes a product runs on one thread (an OpenMP region
/// costs a few microseconds).
inline constexpr double kParallelMinBytes = 192.0 * 1024.0;
/// Work chunks per thread of a matrix–vector product (dynamic schedule): a few, so that a
/// thread that loses its core does not hold the others up, but long, so that each thread's
/// weight stream stays sequential (measured: 4 best; 16–64 cost 10–25 % of a decode step).
inline constexpr Index kChunksPerThread = 4;
/// Floats of one dequantized slab (per thread).
inline constexpr Index kSlabFloats = 64 * 1024;

inline int threadsFor(double streamedBytes, Index tasks) {
    if (streamedBytes < kParallelMinBytes || tasks < 2) return 1;
    return int(std::min<Index>(threadCount(), tasks));
}

/// Calls f(t0, t1) over [0, tiles), split between threads.
template <class F>
void parallelTiles(Index tiles, double streamedBytes, F&& f) {
    const int threads = threadsFor(streamedBytes, tiles);
    if (threads == 1) {
        f(Index(0), tiles);
        return;
    }
    const Index chunks = std::min<Index>(tiles, Index(threads) * kChunksPerThread);
    const Index chunk = (tiles + chunks - 1) / chunks;
    const Index n = (tiles + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (Index c = 0; c < n; ++c) f(c * chunk, std::min(tiles, (c + 1) * chunk));
}

/// A per-thread buffer that keeps its memory between calls (a fresh multi-megabyte vector
/// per product costs page faults on every call). slot 0: slabs, slot 1: gathered activations.
inline std::vector<float>& scratch(int slot) {
    thread_local std::vector<float> buffers[2];
    return buffers[slot];
}

/// Y[n, rows] = Xp[n, P] · Ŵᵀ with dequant(t0, t1, wt, ldw) writing Ŵᵀ of tiles [t0, t1)
/// into wt [P][ldw]. Y must already be [n, rows].
template <class Dequant>
void slabGemm(const ConstMatrixRef& Xp, Index rows, Index tiles, Dequant&& dequant, MatrixRM& Y) {
    using SlabMap = Eigen::Map<const MatrixRM, 0, Eigen::OuterStride<>>;
    const Index n = Xp.rows();
    const Index P = Xp.cols();
    const Index slabTiles = std::clamp<Index>(kSlabFloats / std::max<Index>(1, P * 8), 1, tiles);
    const Index slabs = (tiles + slabTiles - 1) / slabTiles;
    const Index rowBlock = n <= 384 ? n : 256;
    const Index rowBlocks = (n + rowBlock - 1) / rowBlock;
    const Index tasks = slabs * rowBlocks;
    const int threads = threadsFor(double(n) * double(P) * double(rows), tasks);
    const Index ldw = slabTiles * 8;
    if (slabs == 1) {
        // The whole weight fits one slab: dequantize it once and split the rows between
        // threads (as the CPU backend does for float weights).
        std::vector<float>& buf = scratch(0);
        buf.resize(std::size_t(P * ldw));
        dequant(Index(0), tiles, buf.data(), ldw);
        const SlabMap Wt(buf.data(), P, rows, Eigen::OuterStride<>(ldw));
        const int t = threadsFor(double(n) * double(P) * double(rows), std::max<Index>(1, n / 64));
#pragma omp parallel for num_threads(t) schedule(static)
        for (int i = 0; i < t; ++i) {
            const Index r0 = n * i / t, r1 = n * (i + 1) / t;
            Y.middleRows(r0, r1 - r0).noalias() = Xp.middleRows(r0, r1 - r0) * Wt;
        }
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        std::vector<float>& buf = scratch(0);
        buf.resize(std::size_t(P * ldw));
        Index loaded = -1;
#pragma omp for schedule(dynamic, 1)
        for (Index task = 0; task < tasks; ++task) {
            const Index slab = task / rowBlocks;
            const Index r0 = (task % rowBlocks) * rowBlock;
            const Index rr = std::min(rowBlock, n - r0);
            const Index t0 = slab * slabTiles, t1 = std::min(tiles, t0 + slabTiles);
            if (slab != loaded) dequant(t0, t1, buf.data(), ldw);
            loaded = slab;
            const Index c0 = t0 * 8, valid = std::min(rows, t1 * 8) - c0;
            const SlabMap Wt(buf.data(), P, valid, Eigen::OuterStride<>(ldw));
            Y.block(r0, c0, rr, valid).noalias() = Xp.middleRows(r0, rr) * Wt;
        }
    }
}

}  // namespace qb::core::kernels::detail
