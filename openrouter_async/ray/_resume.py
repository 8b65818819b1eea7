"""Resume: run a job again without paying twice for the rows an earlier run already answered.

Ray Data's file writers put each finished block in its own file as the job goes, so after a
crash or a Ctrl-C the output directory holds every row that was written. The rows still to
do are the input minus the ids found there (an anti-join by id). The ids are read on the
driver (one column: a few bytes per row) and each input block is filtered with one vectorised
``is_in``; a file cut short by the crash cannot be read and is skipped with a warning, so its
rows simply run again.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

__all__ = ["ResumeWarning", "completed_ids", "pending_rows"]


class ResumeWarning(UserWarning):
    """An output file could not be read while looking for answered rows (its rows run again)."""


def completed_ids(
    output: str,
    *,
    id_column: str = "id",
    retry_errors: bool = False,
    prefix: str = "",
) -> pa.Array:
    """The distinct ids in the Parquet files under ``output`` (none if it does not exist).

    With ``retry_errors`` only ids that have an answered row (``error_type`` null) count, so
    rows that failed run again.
    """
    filesystem, root = pafs.FileSystem.from_uri(
        output if "://" in output else os.path.abspath(output)
    )
    info = filesystem.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        return pa.array([])
    selector = pafs.FileSelector(root, recursive=True)
    paths = sorted(
        f.path
        for f in filesystem.get_file_info(selector)
        if f.type == pafs.FileType.File and f.path.endswith(".parquet")
    )
    error_column = prefix + "error_type"
    chunks: list[pa.Array] = []
    for path in paths:
        columns = [id_column, error_column] if retry_errors else [id_column]
        try:
            table = pq.read_table(path, columns=columns, filesystem=filesystem)
        except (pa.ArrowInvalid, OSError) as exc:
            warnings.warn(
                f"skipping unreadable output file {path} ({exc}); its rows will run again",
                ResumeWarning,
                stacklevel=2,
            )
            continue
        ids = table.column(id_column)
        if retry_errors:
            ids = ids.filter(pc.is_null(table.column(error_column)))
        chunks.extend(ids.chunks)
    if not chunks:
        return pa.array([])
    return pc.unique(pa.chunked_array(chunks).combine_chunks())


def _drop_done(batch: pa.Table, *, column: str, done: pa.Array) -> pa.Table:
    ids = batch.column(column)
    value_set = done if done.type == ids.type else done.cast(ids.type)
    return batch.filter(pc.invert(pc.is_in(ids, value_set=value_set)))


def pending_rows(
    dataset: Any,
    output: str,
    *,
    id_column: str = "id",
    retry_errors: bool = False,
    prefix: str = "",
) -> Any:
    """``dataset`` without the rows whose id already has a row under ``output``.

    Write each run to the same ``output`` (Ray's default write mode appends): every id then
    ends up there once. With ``retry_errors`` the rows whose earlier answer was an error run
    again, and their new row is added beside the old one (readers keep the answered one).
    """
    done = completed_ids(output, id_column=id_column, retry_errors=retry_errors, prefix=prefix)
    if len(done) == 0:
        return dataset
    return dataset.map_batches(
        _drop_done,
        batch_format="pyarrow",
        fn_kwargs={"column": id_column, "done": done},
        zero_copy_batch=True,
    )
