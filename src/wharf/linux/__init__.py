"""Thin ctypes wrappers over libc and the kernel. Every call raises OSError(errno) on failure."""
