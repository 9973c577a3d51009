"""The read-model version must move with the DDL."""

from __future__ import annotations

import hashlib

from projector_service.schema import COLUMNS, INDEXES, MODEL_DDL_SHA256, MODEL_VERSION, TABLES


def test_the_ddl_is_the_one_this_model_version_was_stamped_for() -> None:
    digest = hashlib.sha256((TABLES + COLUMNS + INDEXES).encode()).hexdigest()
    assert digest == MODEL_DDL_SHA256, (
        "the read-model DDL changed: bump MODEL_VERSION (existing schemas are then rebuilt"
        f" by replay) and set MODEL_DDL_SHA256 = {digest!r}"
    )
    assert MODEL_VERSION >= 2
