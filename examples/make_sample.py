"""Render examples/ring.jpg: a mediocre phone-style photo of a gold ring with a blue stone.

The offline default needs a product photo with real faults for its first iteration to find:
the ring sits off-centre and small in the frame on a mottled grey table, the exposure is a
stop under and a little cool, the focus is soft (the engraving and milgrain on the band
blur) and the sensor noise shows. Everything is seeded, so running this again gives the same
bytes. Rendering is a small signed-distance ray marcher in numpy (an engraved band, a
faceted sapphire, a collet and four prongs) lit by a studio environment.

    python examples/make_sample.py            # writes examples/ring.jpg
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float32]
WIDTH, HEIGHT, SUPERSAMPLE = 1280, 960, 2
OUT = Path(__file__).resolve().parent / "ring.jpg"

RING_RADIUS, BAND_HALF_THICKNESS, BAND_HALF_WIDTH, BAND_ROUND = 1.0, 0.07, 0.17, 0.05
TABLE_Y = -(RING_RADIUS + BAND_HALF_THICKNESS + BAND_ROUND)
STONE_CENTRE = np.array([0.0, RING_RADIUS + 0.44, 0.0], np.float32)
TURN = np.radians(32.0)  # the ring is turned towards the camera so its hole reads as an ellipse
GOLD = np.array([1.0, 0.70, 0.26], np.float32)
SAPPHIRE = np.array([0.03, 0.09, 0.55], np.float32)
KEY_LIGHT = np.array([-0.45, 0.75, 0.5], np.float32) / np.linalg.norm([-0.45, 0.75, 0.5])


def _norm(v: Array) -> Array:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def _to_ring(p: Array) -> Array:
    """World to ring coordinates: undo the turn about the vertical axis."""
    c, s = np.cos(TURN), np.sin(TURN)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([c * x - s * z, y, s * x + c * z], axis=-1).astype(np.float32)


def _stone_planes() -> tuple[Array, Array]:
    """A round brilliant: table, 16 crown facets at two slopes, 16 pavilion and 16 girdle."""
    normals, offsets = [[0.0, 1.0, 0.0]], [0.13]
    for k in range(16):
        a = 2 * np.pi * k / 16
        slope = 0.6 if k % 2 == 0 else 0.42
        normals.append([np.cos(a) * np.cos(slope), np.sin(slope), np.sin(a) * np.cos(slope)])
        offsets.append(0.25 if k % 2 == 0 else 0.262)
        b = a + np.pi / 16
        normals.append([np.cos(b) * np.cos(0.75), -np.sin(0.75), np.sin(b) * np.cos(0.75)])
        offsets.append(0.22)
        normals.append([np.cos(b), 0.0, np.sin(b)])
        offsets.append(0.29)
    n = _norm(np.array(normals, np.float32))
    return n, np.array(offsets, np.float32) * 1.3


STONE_NORMALS, STONE_OFFSETS = _stone_planes()
PRONG_TIPS = [
    np.array([np.cos(a) * 0.33, RING_RADIUS + 0.58, np.sin(a) * 0.33], np.float32)
    for a in np.radians([45, 135, 225, 315])
]


def engraved(p: Array, n: Array) -> Array:
    """Bump-map the band's outer face: a milgrain bead row along each edge and a wave
    engraved round the middle (the fine detail a soft, enlarged photo loses)."""
    q = _to_ring(p)
    theta = np.arctan2(q[..., 1], q[..., 0])
    radial = np.sqrt(q[..., 0] ** 2 + q[..., 1] ** 2) - RING_RADIUS
    outer = (radial > BAND_HALF_THICKNESS * 0.5).astype(np.float32)
    z = q[..., 2]
    rows = np.clip(1 - np.abs(np.abs(z) - 0.14) / 0.035, 0, 1) * outer
    wave = z - 0.05 * np.sin(theta * 14)
    groove = np.exp(-((wave / 0.025) ** 2)) * (-wave / 0.025) * outer
    c, s = np.cos(TURN), np.sin(TURN)
    tangent = np.stack([-np.sin(theta), np.cos(theta), np.zeros_like(theta)], axis=-1)
    along = np.stack(
        [
            tangent[..., 0] * c + tangent[..., 2] * s,
            tangent[..., 1],
            -tangent[..., 0] * s + tangent[..., 2] * c,
        ],
        axis=-1,
    )
    across = np.array([s, 0.0, c], np.float32)
    bump = (0.9 * rows * np.sin(theta * 150))[..., None] * along + (0.9 * groove)[
        ..., None
    ] * across
    return _norm((n + bump).astype(np.float32))


def _capsule(p: Array, a: Array, b: Array, radius: float) -> Array:
    pa, ba = p - a, b - a
    h = np.clip((pa @ ba) / float(ba @ ba), 0.0, 1.0)
    return np.linalg.norm(pa - h[..., None] * ba, axis=-1) - radius


def scene(p: Array) -> tuple[Array, Array]:
    """Distance to the ring and the material hit (0 gold, 1 stone)."""
    q = _to_ring(p)
    radial = np.sqrt(q[..., 0] ** 2 + q[..., 1] ** 2) - RING_RADIUS
    d = np.abs(np.stack([radial, q[..., 2]], axis=-1)) - [BAND_HALF_THICKNESS, BAND_HALF_WIDTH]
    band = np.linalg.norm(np.maximum(d, 0), axis=-1) + np.minimum(d.max(axis=-1), 0) - BAND_ROUND
    local = q - STONE_CENTRE
    stone = (local @ STONE_NORMALS.T - STONE_OFFSETS).max(axis=-1)
    collet = _capsule(q, np.array([0, RING_RADIUS, 0], np.float32), STONE_CENTRE * 0.98, 0.16)
    gold = np.minimum(band, collet)
    base = np.array([0, RING_RADIUS + 0.12, 0], np.float32)
    for tip in PRONG_TIPS:
        gold = np.minimum(gold, _capsule(q, base + (tip - base) * [0.3, 0, 0.3], tip, 0.035))
    return np.minimum(gold, stone), (stone < gold).astype(np.float32)


def environment(d: Array) -> Array:
    """A dim studio with a big key softbox, a side fill and a grey floor."""
    y = d[..., 1:2]
    sky = 0.06 + 0.5 * np.clip(1 - np.abs(y) / 0.25, 0, 1) * (y > 0) + 0.1 * np.clip(y, 0, 1)
    overhead = 1.4 * np.clip((y - 0.85) / 0.05, 0, 1)
    key = 3.2 * np.clip((d @ KEY_LIGHT - 0.86) / 0.06, 0, 1)[..., None]
    fill_dir = _norm(np.array([0.8, 0.35, 0.45], np.float32))
    fill = 1.3 * np.clip((d @ fill_dir - 0.9) / 0.05, 0, 1)[..., None]
    strip = 0.9 * np.clip(1 - np.abs(d[..., 0:1] - 0.15) / 0.12, 0, 1) * (y > 0.2)
    floor = np.where(y < 0, 0.18, 0.0)
    # Thin light strips round the studio: they draw the metal's curvature and engraving.
    strips = 0.6 * (np.sin(np.arctan2(d[..., 2:3], d[..., 0:1]) * 9) > 0.85) * (y > -0.1)
    return (sky + overhead + key + fill + strip + strips + floor).astype(np.float32) * np.ones(
        3, np.float32
    )


def _march(origin: Array, direction: Array) -> tuple[Array, Array]:
    t = np.full(direction.shape[:-1], 7.0, np.float32)
    hit = np.zeros(direction.shape[:-1], bool)
    for _ in range(96):
        active = ~hit & (t < 14.0)
        if not active.any():
            break
        dist, _ = scene(origin + direction[active] * t[active, None])
        t[active] += dist * 0.9
        hit[active] = dist < 1e-3
    return t, hit


def _normals(p: Array) -> Array:
    e = np.float32(1e-3)
    grads = []
    for axis in range(3):
        offset = np.zeros(3, np.float32)
        offset[axis] = e
        grads.append(scene(p + offset)[0] - scene(p - offset)[0])
    return _norm(np.stack(grads, axis=-1))


def _value_noise(shape: tuple[int, int], rng: np.random.Generator) -> Array:
    """Mottling: octaves of smoothly upsampled random grids."""
    total = np.zeros(shape, np.float32)
    for cells, weight in ((6, 0.5), (14, 0.3), (40, 0.15), (120, 0.05)):
        grid = rng.random((cells, cells * shape[1] // shape[0] + 1)).astype(np.float32)
        total += weight * cv2.resize(grid, shape[::-1], interpolation=cv2.INTER_CUBIC)
    return total


def render(rng: np.random.Generator) -> Array:
    """Linear-light RGB of the whole frame at the supersampled size."""
    h, w = HEIGHT * SUPERSAMPLE, WIDTH * SUPERSAMPLE
    eye = np.array([0.0, 2.2, 10.5], np.float32)
    forward = _norm(np.array([1.15, -0.75, 0.0], np.float32) - eye)
    right = _norm(np.cross(forward, [0, 1, 0]).astype(np.float32))
    up = np.cross(right, forward)
    focal = 1.0 / np.tan(np.radians(17.0))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xs + 0.5 - w / 2) / (h / 2), -(ys + 0.5 - h / 2) / (h / 2)
    rays = _norm(forward * focal + u[..., None] * right + v[..., None] * up)

    image = np.zeros((h, w, 3), np.float32)
    # Table: a mottled grey plane, darker towards the back, shadowed and occluded by the ring.
    t_table = (TABLE_Y - eye[1]) / np.minimum(rays[..., 1], -1e-4)
    points = eye + rays * t_table[..., None]
    mottle = _value_noise((h, w), rng)
    albedo = (0.30 + 0.22 * mottle)[..., None] * np.array([1.0, 0.98, 0.95], np.float32)
    depth_fade = np.clip(1.25 - 0.05 * t_table, 0.45, 1.0)[..., None]
    distance = np.full(h * w, 1.0, np.float32)
    close = np.linalg.norm(points.reshape(-1, 3), axis=-1) < 2.0
    distance[close] = scene(points.reshape(-1, 3)[close])[0]
    occlusion = np.clip(0.35 + distance.reshape(h, w) / 0.5, 0.35, 1.0)[..., None]
    shadow = np.ones(h * w, np.float32)
    flat = points.reshape(-1, 3)
    # Only points whose ray to the key light passes near the ring can be in its shadow.
    to_ring = np.array([0.0, 0.1, 0.0], np.float32) - flat
    near = np.linalg.norm(np.cross(to_ring, KEY_LIGHT), axis=-1) < 1.8
    along = flat[near]
    lit = np.ones(along.shape[0], np.float32)
    travelled = np.full(along.shape[0], 0.02, np.float32)
    for _ in range(40):
        d, _ = scene(along + KEY_LIGHT * travelled[:, None])
        lit = np.minimum(lit, np.clip(6.0 * d / travelled, 0, 1))
        travelled += np.clip(d, 0.02, 0.4)
    shadow[near] = lit
    shadow = shadow.reshape(h, w)
    image[:] = albedo * depth_fade * occlusion * (0.45 + 0.75 * shadow[..., None])

    # Ring: march only the rays that pass near it.
    centre = np.array([0.0, 0.1, 0.0], np.float32)
    to_centre = centre - eye
    closest = np.linalg.norm(np.cross(rays, to_centre), axis=-1)
    candidates = closest < 1.75
    t, hit = _march(eye, rays[candidates])
    idx = np.flatnonzero(candidates.ravel())[hit]
    direction = rays.reshape(-1, 3)[idx]
    p = eye + direction * t[hit, None]
    _, material = scene(p)
    n = _normals(p)
    n = np.where(material[:, None] > 0.5, n, engraved(p, n))
    reflected = direction - 2 * (direction * n).sum(-1, keepdims=True) * n
    env = environment(reflected)
    diffuse = np.clip(n @ KEY_LIGHT, 0, 1)[:, None]
    gold = GOLD * (0.92 * env + 0.08 * diffuse)
    sparkle = np.clip(env - 0.6, 0, None) ** 1.5
    inner = environment(_norm(-reflected * [1, -1, 1]))
    stone = SAPPHIRE * (0.25 + 1.6 * inner) + 0.8 * sparkle
    colour = np.where(material[:, None] > 0.5, stone, gold)
    image.reshape(-1, 3)[idx] = colour
    return image


def photograph(linear: Array, rng: np.random.Generator) -> bytes:
    """The camera's faults: a stop under, slightly soft, cool, noisy, JPEG."""
    small = cv2.resize(linear, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    small *= np.array([0.94, 1.0, 1.05], np.float32) * 0.5
    srgb = np.clip(small, 0, 1) ** (1 / 2.2)
    srgb = cv2.GaussianBlur(srgb, (0, 0), 1.3)
    srgb += rng.normal(0, 0.022, srgb.shape).astype(np.float32)
    srgb += cv2.resize(rng.normal(0, 0.012, (HEIGHT // 2, WIDTH // 2, 3)), (WIDTH, HEIGHT))
    pixels = (np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def main() -> None:
    rng = np.random.default_rng(20251125)
    data = photograph(render(rng), rng)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data) // 1024} KB, {WIDTH}x{HEIGHT})")


if __name__ == "__main__":
    main()
