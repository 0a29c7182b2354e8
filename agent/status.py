"""One vocabulary for where a job stands, shared by the graph's state (what the document is), the
job records (what became of the last run) and the events a job's followers get (how it ended).

A checkpoint's document is planned, writing or done; a run record is running, done, planned (it
stopped after its plan, waiting to be written), error, cancelled, or interrupted (the server
stopped under it); a job that stopped without its `done` event sends one of the same words.
"""

from __future__ import annotations

from typing import Final, Literal

PLANNED: Final = "planned"
WRITING: Final = "writing"
RUNNING: Final = "running"
DONE: Final = "done"
ERROR: Final = "error"
CANCELLED: Final = "cancelled"
INTERRUPTED: Final = "interrupted"

DocumentStatus = Literal["planned", "writing", "done"]  # WriteState.status
RunStatus = Literal["running", "done", "planned", "error", "cancelled", "interrupted"]  # write_jobs.status
RESUMABLE: tuple[RunStatus, ...] = (PLANNED, ERROR, CANCELLED, INTERRUPTED)

# What a version of a document is (WriteState.change, the versions list): these two, or what a
# rewrite, extension or restore says of itself ("section 2 rewritten", "extended by 400 words")
WRITTEN: Final = "written"
PLAN_EDITED: Final = "plan edited"
