"""An independent check of edgenas's ONNX files with onnx and onnxruntime.

For every directory given (written by `edgenas train --out DIR`), runs onnx.checker on
model.onnx, model-int8.onnx (QDQ) and model-int8-ops.onnx (operator form), then runs each
model in onnxruntime (a QDQ model as written, without onnxruntime's graph rewrites) on the samples saved in
check.json and compares the outputs with the ones edgenas saved, within the saved tolerance.
Ends with a line `N passed, M failed` and exits non-zero on any failure.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(directory):
    failures = []
    with open(os.path.join(directory, "check.json")) as f:
        check = json.load(f)
    shape = check["input_shape"]
    for name, expected in check["models"].items():
        path = os.path.join(directory, name)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        options = ort.SessionOptions()
        if expected.get("qdq"):
            # As written: onnxruntime would otherwise turn Q/DQ pairs into its own int8
            # kernels, whose rounding differs from the float arithmetic the QDQ graph
            # states by a step now and then, and a step grows through later layers.
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        for i, sample in enumerate(check["samples"]):
            x = np.asarray(sample, dtype=np.float32).reshape(shape)
            out = session.run(None, {"input": x})[0].ravel()
            want = np.asarray(expected["outputs"][i], dtype=np.float32)
            worst = float(np.abs(out - want).max())
            if worst > expected["tolerance"]:
                failures.append(f"{path} sample {i}: differs by {worst:.6f} (tolerance {expected['tolerance']:.6f})")
    return len(check["models"]) * len(check["samples"]), failures


def main():
    total, failed = 0, []
    for directory in sys.argv[1:]:
        n, failures = check(directory)
        total += n
        failed += failures
    for f in failed:
        print("FAILED:", f)
    print(f"onnx_check: {total - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed or total == 0 else 0)


if __name__ == "__main__":
    main()
