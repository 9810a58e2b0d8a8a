"""The Open Inference Protocol (KServe v2 REST, as MLServer, KServe and Triton speak it) on
the same app and model as ``/predict``: health, server and model metadata, readiness and
inference, with Triton's binary tensor data extension for the request and the response.

- ``schemas``: the protocol's JSON documents, as pydantic models;
- ``tensors``: the one input tensor in (JSON ``data`` or raw bytes) and the outputs out;
- ``serving.routes.oip``: the endpoints.
"""
