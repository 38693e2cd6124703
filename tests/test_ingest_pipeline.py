"""The pipeline runner: stages in order, a stage that raises sends the message to rejects and the
next message goes through untouched."""

from __future__ import annotations

import logging

import pytest
from ingest_helpers import ROOT, make_message

from ingest.enrich import Jurisdictions
from ingest.message import POS, Msg
from ingest.pipeline import build_pipeline, process


class Boom:
    """A stage with a bug on messages of unit u13."""

    name = "boom"

    def handle(self, msg: Msg) -> Msg:
        if msg.unit == "u13":
            raise RuntimeError("unlucky unit")
        return msg


def test_stage_order() -> None:
    assert [s.name for s in build_pipeline(ROOT, "k", Jurisdictions())] == ["decode", "validate", "enrich", "rows"]


def test_a_failing_stage_rejects_the_message_and_the_next_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    decode, validate, enrich, rows = build_pipeline(ROOT, "k", Jurisdictions())
    pipeline = (decode, validate, Boom(), enrich, rows)
    with caplog.at_level(logging.WARNING, logger="qingzhi.ingest"):
        bad = process(pipeline, make_message(topic=f"{ROOT}/s1/u13/gps"))
        good = process(pipeline, make_message(topic=f"{ROOT}/s1/u14/gps"))
    assert bad.rows == [] and bad.rejects == [(bad.payload, "internal error in stage boom: RuntimeError: unlucky unit")]
    assert [t for t, _ in good.rows] == [POS] and good.rejects == []
    assert "stage boom failed" in caplog.text and "rejected qz/v1/s1/u13/gps" in caplog.text
