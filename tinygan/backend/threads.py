"""How many threads NumPy's matrix products (BLAS) may use."""


def limit_blas_threads(n):
    """A context manager running NumPy's BLAS (OpenBLAS, MKL, ...) with at most ``n`` threads inside it.

    A toy GAN multiplies matrices of a few hundred rows: handing such a product to several threads costs more
    than it saves, and on a machine that is busy with other work it can make every step several times slower
    (threads wait for each other). The command line trains with one thread. Uses threadpoolctl.
    """
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(n), user_api="blas")
