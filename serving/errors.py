"""How errors are answered: the app's own 422 with a short ``detail`` list, and the Open
Inference Protocol's ``{"error": "..."}``.

FastAPI's own handler would echo each error's input back (for a body near the size limit,
most of the body) and list every error. This one keeps each error's type, location and
message, the first ``MAX_REPORTED`` of them, and words FastAPI's JSON decoding errors as
pydantic words its own ("Invalid JSON: ...").
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from serving.oip.schemas import InferenceError
from serving.schemas import MAX_REPORTED


async def request_validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # registered for this type only
    errors = error.errors()
    detail = [_public(entry) for entry in errors[:MAX_REPORTED]]
    if len(errors) > MAX_REPORTED:
        detail.append(
            {"type": "value_error", "loc": ["body"], "msg": f"and {len(errors) - MAX_REPORTED} more errors"}
        )
    return JSONResponse({"detail": detail}, status_code=422)


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    message = entry["msg"]
    if entry["type"] == "json_invalid":
        message = f"Invalid JSON: {entry.get('ctx', {}).get('error', message)}"
    return {"type": entry["type"], "loc": list(entry["loc"]), "msg": message}


async def inference_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InferenceError)  # registered for this type only
    return JSONResponse({"error": error.message}, status_code=error.status)
