"""The one FastAPI app that every deployment in this repo serves.

Read in this order: ``app`` (``create_app`` wires everything), ``config`` (the one ``Settings``,
the worker count), ``model`` (the ONNX session), ``dependencies`` (how routes reach the model and
settings), ``routes/`` (``predict``: this app's JSON protocol; ``oip``: the Open Inference
Protocol, with ``oip/``; ``health``), ``json_body`` (/predict's JSON parser, a departure from
FastAPI's defaults), ``schemas`` and ``errors`` (what a request may be, and how a bad one is
answered), ``middleware/`` (one job each: body limit, body timeout, telemetry), ``environment``
(cold, restored, draining), ``logs`` and ``metrics``; then the entry points: ``server`` (uvicorn,
with ``http_protocol``'s header timeout) and ``lambda_handler`` (Mangum).
"""
