"""The ingest pipeline: the stages, once, in order (traccar ProcessingHandler style).

Each stage has `handle(msg) -> msg | None`; None ends the message's way (it was bad, and
says why in msg.rejects, or it is not for us). A stage that raises is logged and the message
is rejected with the reason: nothing is lost silently and the ingest carries on.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ingest.decode import Decode
from ingest.enrich import Enrich, Jurisdictions
from ingest.message import Msg
from ingest.rows import Rows
from ingest.topics import Topics
from ingest.validate import Validate
from qingzhi.config import OWNTRACKS_PREFIX

log = logging.getLogger("qingzhi.ingest")


class Stage(Protocol):
    """One step of the pipeline."""

    name: str

    def handle(self, msg: Msg) -> Msg | None:
        """The message, changed or not, or None to stop here."""


def build_pipeline(topic_root: str, caller_key: str, jurisdictions: Jurisdictions,
                   owntracks: str = OWNTRACKS_PREFIX) -> tuple[Stage, ...]:
    """PIPELINE = (Decode, Validate, Enrich, Rows); duplicates are absorbed later by the database keys."""
    return (Decode(Topics(topic_root, owntracks)), Validate(), Enrich(caller_key, jurisdictions), Rows())


def process(pipeline: tuple[Stage, ...], msg: Msg) -> Msg:
    """Run msg through the stages; log one line per rejected message or element."""
    for stage in pipeline:
        try:
            if stage.handle(msg) is None:
                break
        except Exception as exc:  # noqa: BLE001 - any bug in a stage must not stop the ingest
            log.exception("stage %s failed on %s", stage.name, msg.topic)
            msg.rows.clear()
            msg.reject(f"internal error in stage {stage.name}: {type(exc).__name__}: {exc}")
            break
    for _raw, reason in msg.rejects:
        log.warning("rejected %s: %s", msg.topic, reason)
    return msg
