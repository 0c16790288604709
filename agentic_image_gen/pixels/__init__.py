"""Pixel work, each fact once: decoding, alpha, boxes, the backdrop and the product, encoding,
colour and similarity measures, the locked product's placement, a marketplace's delivery.

The engine's steps (lock, delivery, fidelity) and the local providers call this package; the
engine itself touches no pixel. Importing the package loads nothing heavy: each module loads
numpy, OpenCV or Pillow itself.
"""
