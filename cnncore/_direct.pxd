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
    ctypedef struct cnncore_fields:
        const float* x
        Py_ssize_t H, W, C, OH, OW, sh, sw, pt, pl
        const Py_ssize_t* tap
        int ntaps
        Py_ssize_t run
    int cnncore_direct_block(int isa, const cnncore_fields* f, const float* wsrc, Py_ssize_t ldw,
                             float* w, const float* bias, int relu, int stream, float* y,
                             Py_ssize_t ldy, int ncols, Py_ssize_t kc, Py_ssize_t p0,
                             Py_ssize_t p1)
    int cnncore_dkernel_tasks(int isa, const cnncore_fields* f, const float* dy, Py_ssize_t ldy,
                              Py_ssize_t O, float* dk, double* db, Py_ssize_t pbeg,
                              Py_ssize_t pend, Py_ssize_t chunk, Py_ssize_t task0,
                              Py_ssize_t task1)
