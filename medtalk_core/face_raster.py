"""The 2-D vector face of a rig frame (:mod:`medtalk_core.face2d`) as an RGB image, with Pillow.

The view box (``VIEW_W`` x ``VIEW_H`` = 320 x 400 px) is scaled uniformly to fit the image and
centred on a background colour (``[render] background``). Shapes are drawn back to front at :data:`SUPERSAMPLE`
times the image size and the picture box-filtered down, which anti-aliases the edges.
"""

from __future__ import annotations

import numpy as np

from .errors import MedtalkError
from .face2d import VIEW_H, VIEW_W, FaceShape, face_shapes

SUPERSAMPLE = 2
"""Drawing scale over the output size (2: four samples per pixel)."""


class FaceRasterizer:
    """Draws faces of ``width`` x ``height`` px on ``background``.

    Args:
        width, height: image size in pixels (>= 1).
        background: colour around the face, ``"#rrggbb"``.

    Raises:
        MedtalkError: ``background`` is not a colour Pillow knows.
    """

    def __init__(self, width: int, height: int, background: str):
        from PIL import ImageColor

        try:
            self.background = ImageColor.getrgb(background)
        except ValueError:
            raise MedtalkError(f"background {background!r} is not a colour such as "
                               "\"#23272e\"") from None
        self.width, self.height = int(width), int(height)
        scale = min(self.width / VIEW_W, self.height / VIEW_H)
        self.scale = scale * SUPERSAMPLE
        """Drawing pixels per view-box pixel."""
        self.offset = np.array([(self.width - VIEW_W * scale) / 2,
                                (self.height - VIEW_H * scale) / 2], np.float32) * SUPERSAMPLE
        """Where the view box's origin lands on the drawing, px."""

    def draw_shapes(self, shapes: list[FaceShape]) -> np.ndarray:
        """uint8 ``(height, width, 3)`` RGB picture of ``shapes`` (back to front)."""
        from PIL import Image, ImageDraw

        size = (self.width * SUPERSAMPLE, self.height * SUPERSAMPLE)
        image = Image.new("RGB", size, self.background)
        draw = ImageDraw.Draw(image)
        for shape in shapes:
            pts = [tuple(p) for p in (shape.points * self.scale + self.offset).tolist()]
            if shape.closed and shape.fill and len(pts) >= 3:
                draw.polygon(pts, fill=shape.fill)
            if shape.stroke and shape.width > 0 and len(pts) >= 2:
                line = pts + pts[:1] if shape.closed else pts
                draw.line(line, fill=shape.stroke, joint="curve",
                          width=max(1, round(shape.width * self.scale)))
        return np.asarray(image.reduce(SUPERSAMPLE))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """uint8 ``(height, width, 3)`` RGB picture of one rig frame float ``(174,)``
        (:func:`~medtalk_core.face2d.face_shapes`)."""
        return self.draw_shapes(face_shapes(values))
