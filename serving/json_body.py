"""The JSON body parser of ``/predict``: orjson, through FastAPI's documented extension point
for it ("Custom Request and APIRoute class": a ``route_class`` whose handler gets a ``Request``
subclass). FastAPI's default is the stdlib's ``json.loads``, several times slower on a batch
(bench/README.md, "Why the app departs from FastAPI's defaults", has the measured gain).

A body orjson refuses (it reads strict RFC 8259) is read again by ``json.loads``, so every answer
stays the stdlib's: NaN and Infinity parse (and pydantic refuses them by name), and a malformed or
non-UTF-8 body gets FastAPI's own 422 or 400, word for word. The one value that differs, an integer
beyond 64 bits, orjson reads as the float pydantic makes of it anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:
                self._json = json.loads(body)  # the stdlib's value, or its error
        return self._json


class OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def orjson_handler(request: Request) -> Response:
            return await handler(OrjsonRequest(request.scope, request.receive))

        return orjson_handler
