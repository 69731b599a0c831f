"""The verifier the project trains itself: is a statement supported by, contradicted by, or not
addressed in a key point? Its data (data.py), its training (train.py) and the product's side —
the protocol, the ONNX model, a scripted fake and the verdict rule (verifier.py) — live apart."""
