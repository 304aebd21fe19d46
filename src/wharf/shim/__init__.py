"""wharf-shim: one small daemon per container, parent of its init once the runtime has exited.

Standard library only (plus `wharf.errdefs`): it lives as long as the container and must stay small.
The contract is the "Shim" section of docs/architecture.md; `client.py` is the supervisor's side.
"""
