"""Training and ONNX export of the one model this repo serves."""
