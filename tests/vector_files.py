"""Writing a folder of golden test vectors (the ``--write`` mode of the vector tests)."""

from __future__ import annotations

from pathlib import Path


def write_vectors(folder: Path, files: dict[str, bytes]) -> None:
    """Make the files directly in ``folder`` exactly ``files`` (name -> bytes): stale files are
    removed, subfolders are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.is_file() and stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    print(f"wrote {len(files)} files to {folder}")
