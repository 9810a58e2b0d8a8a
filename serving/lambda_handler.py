"""AWS Lambda entry point: the same app, adapted by Mangum.

lifespan="off": Mangum would otherwise run the ASGI lifespan on every event. Nothing needs
it, because the model is loaded when ``serving.app`` is imported, once per execution
environment, during Lambda's init phase.
"""

from mangum import Mangum

from serving.app import app

handler = Mangum(app, lifespan="off")
