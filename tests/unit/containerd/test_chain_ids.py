"""Chain ids as the OCI image spec defines them."""

import hashlib

from wharf.containerd.plugins.unpack.unpacker import chain_ids

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


def test_first_chain_id_is_the_diff_id() -> None:
    assert chain_ids([A]) == [A]


def test_chain_id_hashes_parent_space_diff_id() -> None:
    ab = "sha256:" + hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {C}".encode()).hexdigest()
    assert chain_ids([A, B, C]) == [A, ab, abc]


def test_no_layers_no_chain() -> None:
    assert chain_ids([]) == []
