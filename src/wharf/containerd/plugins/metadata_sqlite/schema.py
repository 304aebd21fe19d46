"""The schema of `<root>/wharf.db`, as an ordered list of migrations.

`PRAGMA user_version` holds how many migrations have been applied; opening the database applies the
rest, each in its own transaction. Never edit a migration that has shipped: append a new one.

Tables (JSON columns hold objects encoded with json.dumps):
- containers(id PK, image, runtime, spec JSON (OCI spec), snapshot_key, labels JSON, created_at, updated_at)
- images(name PK, target JSON (OCI descriptor), labels JSON, created_at, updated_at)
- snapshots(id INTEGER PK AUTOINCREMENT — names the directory `snapshots/<id>/`, key UNIQUE (the key of an
  active/view snapshot or the name of a committed one), parent (a committed name or ""), kind
  (active|view|committed), labels JSON, created_at). AUTOINCREMENT: an id is never reused, so a
  directory left by a crash can't be mistaken for a newer snapshot's.
- content(digest PK, labels JSON, created_at): what the blob files can't hold; a blob without a row
  is still valid (labels empty).
- leases(id PK, labels JSON, created_at): a lease protects what it references from garbage collection
  until it is deleted or its `containerd.io/gc.expire` label (RFC 3339) has passed. (migration 2)
- lease_resources(lease_id → leases ON DELETE CASCADE, type (`content` | `snapshots`), id (a digest, a
  snapshot key or name), PRIMARY KEY (lease_id, type, id)). (migration 2)
Times are nanoseconds since the epoch.
"""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        image TEXT NOT NULL,
        runtime TEXT NOT NULL,
        spec TEXT NOT NULL,
        snapshot_key TEXT NOT NULL,
        labels TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE images (
        name TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        labels TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        parent TEXT NOT NULL,
        kind TEXT NOT NULL,
        labels TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX snapshots_by_parent ON snapshots(parent);
    CREATE TABLE content (
        digest TEXT PRIMARY KEY,
        labels TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    """,
    """
    CREATE TABLE leases (
        id TEXT PRIMARY KEY,
        labels TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE lease_resources (
        lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (lease_id, type, id)
    );
    CREATE INDEX lease_resources_by_resource ON lease_resources(type, id);
    """,
]
