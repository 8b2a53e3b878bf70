"""Declarations of the batch-norm row loops in _bn_kernels.h."""

cdef extern from "_bn_kernels.h" nogil:
    void cnncore_bn_sums_f(const float* x, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C,
                           const float* shift, double* s, double* q, float* bs, float* bq)
    void cnncore_bn_sums_d(const double* x, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C,
                           const double* shift, double* s, double* q, double* bs, double* bq)
    void cnncore_bn_grad_sums_f(const float* dy, const float* x, Py_ssize_t r0, Py_ssize_t r1,
                                Py_ssize_t C, const float* mean, double* s, double* q,
                                float* bs, float* bq)
    void cnncore_bn_grad_sums_d(const double* dy, const double* x, Py_ssize_t r0, Py_ssize_t r1,
                                Py_ssize_t C, const double* mean, double* s, double* q,
                                double* bs, double* bq)
    void cnncore_bn_affine_f(const float* u, const float* x, Py_ssize_t r0, Py_ssize_t r1,
                             Py_ssize_t C, const float* a, const float* b, const float* m,
                             const float* d, int relu, float* y)
    void cnncore_bn_affine_d(const double* u, const double* x, Py_ssize_t r0, Py_ssize_t r1,
                             Py_ssize_t C, const double* a, const double* b, const double* m,
                             const double* d, int relu, double* y)
