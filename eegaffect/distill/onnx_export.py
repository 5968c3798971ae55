"""ONNX export of the face student, checked against onnxruntime.

The exported graph takes ``image`` ``(batch, 1, size, size)`` float32 in [0, 1] (dynamic batch) and returns
``logits`` ``(batch, 8)`` and ``embedding`` ``(batch, D)``, exactly like :class:`FaceStudent.forward`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eegaffect._logging import logger

__all__ = ["export_onnx", "check_onnx"]


def export_onnx(model, path: str | Path, image_size: int) -> Path:
    """Export a student to ONNX with torch's exporter.

    Parameters
    ----------
    model : FaceStudent
        The trained student (put in eval mode here).
    path : str | Path
        Output ``.onnx`` file.
    image_size : int
        Side of the input images.

    Returns
    -------
    path : Path
        The file written.
    """
    import torch

    if not isinstance(image_size, (int, np.integer)) or image_size < 8:
        raise ValueError(f"image_size must be an integer >= 8, got {image_size!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    example = torch.zeros(2, 1, image_size, image_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(model, (example,), str(path), input_names=["image"], output_names=["logits", "embedding"],
                      dynamic_shapes={"x": {0: batch}}, dynamo=True, external_data=False, verbose=False)
    logger.info("exported the student to %s", path)
    return path


def check_onnx(path: str | Path, model, images: np.ndarray, *, atol: float = 1e-4) -> float:
    """Run the ONNX file with onnxruntime and compare with the torch model.

    Parameters
    ----------
    path : str | Path
        The exported ``.onnx`` file.
    model : FaceStudent
        The torch model it came from.
    images : ndarray, shape (n_images, 1, size, size), float32
        Inputs to compare on.
    atol : float
        Largest allowed absolute difference.

    Returns
    -------
    max_abs_diff : float
        Largest difference over logits and embeddings.

    Raises
    ------
    AssertionError
        When the outputs differ by more than ``atol``.
    """
    import onnxruntime as ort
    import torch

    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"expected images of shape (n_images, 1, size, size), got {images.shape}")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits", "embedding"], {"image": images})
    model.eval()
    with torch.no_grad():
        ref = [t.numpy() for t in model(torch.from_numpy(images))]
    diff = max(float(np.abs(g - r).max()) for g, r in zip(got, ref))
    if diff > atol:
        raise AssertionError(f"onnxruntime output differs from torch by {diff:.3g} (allowed {atol:g})")
    logger.info("onnxruntime matches torch (max abs diff %.2g)", diff)
    return diff
