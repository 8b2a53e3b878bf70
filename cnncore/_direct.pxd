"""Declarations of the AVX-512 convolution micro-kernels in _direct.h."""

cdef extern from "_direct.h" nogil:
    int cnncore_has_avx512()
    void cnncore_direct_block(const float* x, Py_ssize_t Hp, Py_ssize_t Wp, Py_ssize_t C,
                              Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t sh, Py_ssize_t sw,
                              const Py_ssize_t* off, int ntaps, Py_ssize_t run, const float* w,
                              const float* bias, float* y, Py_ssize_t ldy,
                              Py_ssize_t p0, Py_ssize_t p1)
    void cnncore_dkernel_tasks(const float* x, Py_ssize_t Hp, Py_ssize_t Wp, Py_ssize_t C,
                               Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t sh, Py_ssize_t sw,
                               const Py_ssize_t* off, Py_ssize_t run, const float* dy,
                               Py_ssize_t O, float* dkt, Py_ssize_t K, Py_ssize_t P,
                               Py_ssize_t chunk, Py_ssize_t task0, Py_ssize_t task1)
    int CNNCORE_ROWS
    int CNNCORE_COLS
