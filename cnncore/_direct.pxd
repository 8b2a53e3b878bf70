"""Declarations of the convolution micro-kernels in _direct.h."""

cdef extern from "_direct.h" nogil:
    enum:
        CNNCORE_AVX512
        CNNCORE_AVX2
        CNNCORE_PORTABLE
    int cnncore_isa_supported(int isa)
    int cnncore_isa_cols(int isa)
    int cnncore_isa_rows(int isa)
    int cnncore_cpu_is_amd()
    void cnncore_direct_block(int isa, const float* x, Py_ssize_t Hp, Py_ssize_t Wp, Py_ssize_t C,
                              Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t sh, Py_ssize_t sw,
                              const Py_ssize_t* off, int ntaps, Py_ssize_t run,
                              const float* wsrc, Py_ssize_t ldw, float* w, const float* bias,
                              int relu, float* y, Py_ssize_t ldy, int ncols, Py_ssize_t kc,
                              Py_ssize_t p0, Py_ssize_t p1)
    int cnncore_dkernel_tasks(int isa, const float* x, Py_ssize_t Hp, Py_ssize_t Wp, Py_ssize_t C,
                               Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t sh, Py_ssize_t sw,
                               const Py_ssize_t* off, Py_ssize_t run, const float* dy,
                               Py_ssize_t ldy, Py_ssize_t O, float* dk, double* db, Py_ssize_t K,
                               Py_ssize_t pbeg, Py_ssize_t pend, Py_ssize_t chunk,
                               Py_ssize_t task0, Py_ssize_t task1)
