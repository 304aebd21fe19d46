"""OCI data types and grammars (runtime spec, image spec, references, digests). Pure: no I/O."""
