"""The project's one jit decorator, and the few code-generation hints hot kernels use.

``nogil=True`` lets kernels run in acquisition threads beside Python code; ``cache=True`` keeps start-up fast
after the first run; ``fastmath`` stays off so results match the NumPy/SciPy references to rounding.
Set ``NUMBA_DISABLE_JIT=1`` to run kernel bodies as plain Python (for coverage or debugging); the hints below
are then no-ops.

Hints (call them inside an ``@jit`` body; they change how the code is compiled, never what it computes):

- :func:`use_full_vector_width` -- vectorise this kernel with the CPU's widest registers. LLVM's default tuning
  for AVX-512 CPUs prefers 256-bit vectors (a precaution against clock throttling on early AVX-512 parts), which
  halves the throughput of loops that are arithmetic-bound across channels. The hint sets LLVM's per-function
  ``prefer-vector-width`` attribute to 512, so it affects only the kernel that asks, not other numba code in the
  process (the alternative, ``NUMBA_CPU_FEATURES``, is process-wide). On CPUs without AVX-512 LLVM caps the width at
  what is legal, so the hint is harmless there. The kernel is also kept out of line (``noinline``) so a caller
  compiled without the hint cannot absorb it and lose the width.
- :func:`prefetch_read` / :func:`prefetch_write` -- ask the CPU to fetch the cache line holding ``arr[i, j]``
  ahead of use. Streaming kernels whose rows each carry a long chain of arithmetic issue their loads and stores too
  late for the hardware prefetcher on large arrays; a software prefetch a few rows ahead restores the in-cache
  rate.
"""

from __future__ import annotations

import numba

__all__ = ["JIT_OPTIONS", "jit", "entry_point", "use_full_vector_width", "prefetch_read", "prefetch_write"]

JIT_OPTIONS = {"nopython": True, "nogil": True, "cache": True, "fastmath": False}


def jit(*args, **overrides):
    """``numba.njit`` with the project's flags; use bare (``@jit``) or with overrides (``@jit(parallel=True)``)."""
    options = {**JIT_OPTIONS, **overrides}
    if args and callable(args[0]) and len(args) == 1:
        return numba.jit(**options)(args[0])
    return numba.jit(*args, **options)


def entry_point(kernel, example_args: tuple):
    """The compiled machine-code entry of ``kernel`` for the numba types of ``example_args`` (compiled, or loaded
    from the disk cache, on first use).

    Calling it skips numba's per-call type dispatch (resolving the types of every argument and looking up the
    specialisation: ~0.2-0.3 us, a tenth of a small streaming call). It does **not** check its arguments: the
    caller must have validated that every later call passes arrays of the same dtypes, dimensions, layout and
    alignment as ``example_args`` (readonly-ness may differ). Under ``NUMBA_DISABLE_JIT=1`` returns ``kernel``.
    """
    if numba.config.DISABLE_JIT:
        return kernel
    signature = tuple(numba.typeof(arg) for arg in example_args)
    kernel.compile(signature)
    return kernel.overloads[signature].entry_point


if numba.config.DISABLE_JIT:
    def use_full_vector_width() -> None:
        """No-op when kernels run as plain Python."""

    def prefetch_read(arr, i, j) -> None:
        """No-op when kernels run as plain Python."""

    def prefetch_write(arr, i, j) -> None:
        """No-op when kernels run as plain Python."""

else:
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    #: LLVM string attribute that lifts the 256-bit preference of LLVM's AVX-512 tuning for one function.
    _FULL_WIDTH_ATTRIBUTE = '"prefer-vector-width"="512"'

    @intrinsic
    def use_full_vector_width(typingctx):
        """Compile the calling kernel with the CPU's widest SIMD registers (see the module docstring).

        Call it as the first statement of an ``@jit`` body. Returns nothing and emits no instruction.
        """
        def codegen(context, builder, signature, args):
            attributes = builder.function.attributes
            # llvmlite's attribute set accepts only enum attributes by name; a string attribute is written as is
            set.add(attributes, _FULL_WIDTH_ATTRIBUTE)
            attributes.add("noinline")
            return context.get_dummy_value()

        return types.void(), codegen

    def _prefetch_intrinsic(write: int):
        rw = "write" if write else "read"

        @intrinsic
        def prefetch(typingctx, arr, i, j):
            if not (isinstance(arr, types.Array) and arr.ndim == 2):
                return None

            def codegen(context, builder, signature, args):
                array = context.make_array(signature.args[0])(context, builder, args[0])
                i_val = context.cast(builder, args[1], signature.args[1], types.intp)
                j_val = context.cast(builder, args[2], signature.args[2], types.intp)
                pointer = cgutils.get_item_pointer2(
                    context, builder, data=array.data, shape=cgutils.unpack_tuple(builder, array.shape),
                    strides=cgutils.unpack_tuple(builder, array.strides), layout=signature.args[0].layout,
                    inds=[i_val, j_val], wraparound=False)
                i8_ptr = ir.IntType(8).as_pointer()
                i32 = ir.IntType(32)
                llvm_prefetch = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(ir.VoidType(), [i8_ptr, i32, i32, i32]), "llvm.prefetch.p0")
                # (address, 0 = read / 1 = write, locality 3 = keep in all cache levels, 1 = data cache)
                builder.call(llvm_prefetch, [builder.bitcast(pointer, i8_ptr), ir.Constant(i32, write),
                                             ir.Constant(i32, 3), ir.Constant(i32, 1)])
                return context.get_dummy_value()

            return types.void(arr, i, j), codegen

        prefetch.__doc__ = (f"Prefetch the cache line of ``arr[i, j]`` (2-D array) for {rw}ing. Indices are not "
                            "checked: keep them in bounds.")
        return prefetch

    prefetch_read = _prefetch_intrinsic(0)
    prefetch_write = _prefetch_intrinsic(1)
