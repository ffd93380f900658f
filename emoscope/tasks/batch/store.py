"""Where a batch job keeps its results: one part file per input, committed atomically, and the final table.

Layout of the output folder::

    RESULTS/job.json             settings, input source, format, columns (checked when the job is resumed)
    RESULTS/manifest.jsonl       one record per finished input (emoscope.tasks.batch.manifest)
    RESULTS/parts/<hash>.<ext>   the rows of one input (Parquet or JSON Lines)
    RESULTS/results.<ext>        every part, in input order (written when every input is finished)

A part is written to a hidden temporary file beside it, flushed to disk (``fsync``), renamed into place and the
folder is synced: it is complete or absent, never half-written. Its manifest record is appended only afterwards,
so a part without a record (a crash in between) is discarded and redone when the job resumes. The final table is
written only from parts that parse and hold the rows their record says (:class:`DamagedParts` otherwise).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from emoscope.errors import EmoscopeError
from emoscope.outputs.files import atomic_path
from emoscope.tasks.batch.rows import conform, empty_table, from_jsonl, to_jsonl

FORMATS = {"parquet": ".parquet", "jsonl": ".jsonl"}
PARTS = "parts"
#: Rows per row group of the final Parquet table.
ROW_GROUP = 65_536


class DamagedParts(EmoscopeError):
    """Part files that cannot go into the final table: ``parts`` lists ``(path, problem)``."""

    def __init__(self, parts: list[tuple[Path, str]]):
        self.parts = parts
        path, problem = parts[0]
        more = f" (and {len(parts) - 1} more damaged parts)" if len(parts) > 1 else ""
        super().__init__(f"{path}: damaged part file: {problem}{more}")


def require_pyarrow() -> None:
    """Raise a clear :class:`EmoscopeError` when pyarrow (needed for Parquet) is missing."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:
        raise EmoscopeError(
            "Parquet output needs pyarrow: pip install 'emoscope[batch]' (or use --format jsonl)"
        ) from e


def part_name(key: str, fmt: str) -> str:
    """The part file name of an input: a hash of its key (stable across runs and machines)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + FORMATS[fmt]


def results_path(out: str | os.PathLike, fmt: str) -> Path:
    return Path(out) / f"results{FORMATS[fmt]}"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform / file system lets a folder be opened and synced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _schema(columns: dict[str, str]):
    import pyarrow as pa

    return pa.Schema.from_pandas(empty_table(columns), preserve_index=False)


def _write_table(df, path: Path, fmt: str, columns: dict[str, str]) -> None:
    """A part: JSON Lines, or a compact Parquet file (no pandas metadata, no statistics: about 7 kB for a photo's
    row; the types come back from the job's columns when it is read)."""
    if fmt == "jsonl":
        path.write_bytes(to_jsonl(df))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, schema=_schema(columns), preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), path, write_statistics=False)


def write_part(df, path: str | os.PathLike, fmt: str, columns: dict[str, str]) -> Path:
    """Commit the rows of one input to ``path`` durably and atomically (temporary file, fsync, rename, folder
    fsync); the rows are conformed to the job's ``columns`` first."""
    target = Path(path)
    with atomic_path(target) as tmp:
        _write_table(conform(df, columns), tmp, fmt, columns)
        _fsync_file(tmp)
    _fsync_dir(target.parent)
    return target


def _read_errors(fmt: str) -> tuple[type[BaseException], ...]:
    """The exceptions that reading a damaged or unreadable file of ``fmt`` raises."""
    if fmt == "jsonl":
        return (OSError, ValueError)
    import pyarrow as pa

    return (OSError, ValueError, pa.ArrowException)


def read_part(path: str | os.PathLike, fmt: str, columns: dict[str, str]):  # -> pandas.DataFrame
    """The rows of one part file, with the job's columns and types; :class:`EmoscopeError` naming the file when it
    cannot be read or parsed."""
    try:
        if fmt == "jsonl":
            return from_jsonl(Path(path).read_bytes(), columns)
        import pyarrow.parquet as pq

        return conform(pq.read_table(path).to_pandas(), columns)
    except _read_errors(fmt) as e:
        raise EmoscopeError(f"{path}: cannot be read as a {fmt} table (damaged?): {e}") from e


def _jsonl_problem(data: bytes, expected: int | None) -> str | None:
    """What is wrong with the bytes of a JSON Lines part (``expected``: its rows per the manifest), or None."""
    if data and not data.endswith(b"\n"):
        return "its last line is cut off (no line end)"
    lines = data.split(b"\n")[:-1] if data else []
    for i, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except ValueError:
            return f"line {i} is not valid JSON"
        if not isinstance(rec, dict):
            return f"line {i} is not a JSON object"
    if expected is not None and len(lines) != expected:
        return f"{len(lines)} rows, but the manifest records {expected}"
    return None


def write_results(parts: Iterable[Path], path: str | os.PathLike, fmt: str, columns: dict[str, str],
                  row_group: int = ROW_GROUP, *, expected_rows: Mapping[str, int | None] | None = None) -> int:  # fmt: skip
    """Concatenate ``parts`` (in the order given) into the final table at ``path``, atomically, streaming (memory
    stays at about one row group; Parquet row groups of ``row_group`` rows, whatever the parts' sizes). Returns the
    number of rows.

    Every part is checked as it is read: it must parse, and hold ``expected_rows[part file name]`` rows when given
    (the manifest's count). When any part fails, the others are still checked, nothing is written (``path`` keeps
    its previous content) and :class:`DamagedParts` lists them all."""
    target = Path(path)
    expected = expected_rows or {}
    bad: list[tuple[Path, str]] = []
    n = 0
    with atomic_path(target) as tmp:
        if fmt == "jsonl":
            with open(tmp, "wb") as f:
                for p in parts:
                    try:
                        data = Path(p).read_bytes()
                    except OSError as e:
                        bad.append((Path(p), f"cannot be read ({e.strerror or e})"))
                        continue
                    problem = _jsonl_problem(data, expected.get(Path(p).name))
                    if problem is not None:
                        bad.append((Path(p), problem))
                    elif not bad:
                        n += data.count(b"\n")
                        f.write(data)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = _schema(columns)
            with pq.ParquetWriter(tmp, schema) as w:
                buf: list = []
                held = 0
                for p in parts:
                    try:
                        t = pq.read_table(p, schema=schema).replace_schema_metadata(schema.metadata)
                    except _read_errors(fmt) as e:
                        bad.append((Path(p), f"not a readable Parquet table of the job's columns ({e})"))
                        continue
                    want = expected.get(Path(p).name)
                    if want is not None and t.num_rows != want:
                        bad.append((Path(p), f"{t.num_rows} rows, but the manifest records {want}"))
                    if bad:
                        buf, held = [], 0
                        continue
                    n += t.num_rows
                    buf.append(t)
                    held += t.num_rows
                    if held >= row_group:
                        w.write_table(pa.concat_tables(buf), row_group_size=row_group)
                        buf, held = [], 0
                if bad:
                    raise DamagedParts(bad)
                if buf:
                    w.write_table(pa.concat_tables(buf), row_group_size=row_group)
                if n == 0:
                    w.write_table(
                        pa.Table.from_pandas(empty_table(columns), schema=schema, preserve_index=False)
                    )
        if bad:
            raise DamagedParts(bad)
        _fsync_file(tmp)
    _fsync_dir(target.parent)
    return n


def read_table(path: str | os.PathLike, fmt: str, columns: dict[str, str]):  # -> pandas.DataFrame
    """Read a final results file (or a part) with the job's columns and types."""
    return read_part(path, fmt, columns)


def clean_parts(parts_dir: Path, keep: set[str]) -> int:
    """Delete leftovers in ``parts_dir``: temporary files, and parts no manifest record points to (committed just
    before a crash, before their record); returns how many were deleted."""
    if not parts_dir.is_dir():
        return 0
    n = 0
    for p in parts_dir.iterdir():
        if p.is_file() and p.name not in keep:
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
    return n


def final_parts(items: Iterable, records: dict[str, dict], parts_dir: Path) -> list[Path]:
    """The part files of ``items`` (in their order) whose last record is ``ok`` with rows."""
    out = []
    for it in items:
        rec = records.get(it.key)
        if rec and rec.get("status") == "ok" and rec.get("part"):
            out.append(parts_dir / rec["part"])
    return out
