"""Every named threshold of the refinement, in one place: its name, its value, why.

The cut-out's rules were tuned on the development photos; keeping their constants here, each
with the reason it has its value, makes them reviewable and measurable as one set:
``bench/segment_bench.py`` reports the tuning half (the odd-numbered photos of
``../shared/photos``), the other half and ``photos/more`` apart, and README's segmentation
section records each rule's measured effect on both halves. Distances "in border spreads"
are Lab distances divided by the backdrop's own spread in the border band (background.py);
"of the frame" is a share of the photo's longer side at the work scale. The modules import
what they use under their own short names.
"""


# The refinement's frame and its refusals (refine.py)

WORK_SIDE = 768
MIN_PRODUCT = 0.0015  # of the frame: smaller is a speck, not a product to sell
MIN_CONTRAST = 2.0  # distance from the backdrop (border spreads) of the product's clearest

# The backdrop, seen in the border band (background.py)

TEXTURED = 3.0  # the backdrop's lightness spread (Lab) above which it is cloth, wood, stone
OUTLIER = 6.0  # robust spreads (MAD) from the border's median: not backdrop (a badge, a logo)
OUTLIERS = 0.05  # ... when at most this share of the border is so far: more is its texture
DARK = 40.0  # Lab lightness below the backdrop that no soft shadow or floor reflection reaches


# A shop's mark in a corner, painted out before the segmenter looks (marks.py)

MARK_ZONE = 0.15  # of the short side: a mark lies wholly this close to two edges (a badge of
# 6 % set in by 2 % ends at 8 %; a logo twice its size still fits); a product is framed
# nearer the middle, and one running off the frame (a chain) reaches farther in
MARK_JOIN = 0.01  # of the short side: gaps this narrow (a logo's letters) join one mark


# Holes: a ring's inside, the spill past the outline (holes.py)

HOLE_LIKE = 2.5  # closer to the backdrop than this (border spreads): may be a hole
HOLE_MEAN = 0.8  # ... and a hole's average colour this close to the backdrop's
HOLE_LARGE, HOLE_MEAN_LARGE = 0.2, 1.2  # a fifth of the product: a looser average will do
HOLE_MIN = 0.03  # ... and this share of the product (a band's white highlight is smaller)
HOLE_MIN_TEXTURED = 0.004  # ... on a textured backdrop, which no highlight mimics
SURE = 0.9  # the model's probability above which a pixel is surely product
HOLE_SMOOTH = 1.0  # px: the photo is smoothed this much before its edges decide (sensor grain)
THICK = 0.008  # of the longer side: a spill narrower than this is the outline's own blur
SPILL_MAX = 0.05  # of the product: a larger hesitant piece is a part of it, not a reflection
REFLECTED = 0.8  # share of a spill's outside neighbours that are not backdrop: a reflection


# Thin parts a coarse map misses: chains, cords, hooks (strands.py)

THIN_CHROMA = 6.0  # a coloured strand (gold chain, leather) on a neutral backdrop
LINE_STEP = 3.0  # a line this much darker or lighter than beside it (border spreads)
NOT_BACKDROP = 2.5  # a strand pixel differs from the backdrop itself at least this much
STRAND = 0.035  # the widest strand (a leather cord), of the frame's longer side
STRAND_SMOOTH = 1.5  # px at work scale: finer than any strand, coarser than a weave
DENSE = 0.6  # share of its 3x3 neighbourhood a strand pixel's own kind fills
SOLID = 0.8  # share of a strand's closed shape that its own pixels cover
SHORT, LONG = 0.04, 0.15  # strand lengths (box diagonal, of the frame) to touch / to bridge
TOUCH = 0.012  # how close (of the frame) a short strand must come to the product
BRIDGE = 0.2  # how far (of the frame) a long strand may start from the product
JOIN = 0.06  # how far (of the frame) a short piece may be joined by a line-like path
HUG = 0.4  # a strand reaching no farther from the product than this share of its length hugs it
SHADOW_REACH = 0.06  # ... and, on cloth or wood, no farther than this share of the frame
WEAK, STRONG = 2.0, 5.0  # robust deviations of a textured photo's line responses
ORIENTATIONS = 12  # directions the line operator tries: 15 degrees apart
SHADOW_GAP = 2.5  # px at work scale: closer to a highlight than this is the wire's own dark side
SHADOW_SHARE = 0.6  # share of a dark line beside a light one, in the backdrop's hue: its shadow
UNLIKE_BACKDROP = 3.0  # spreads from the backdrop beside: a strand's part, whatever its colour


# Joining a strand to the product along the cheapest line-like path (bridges.py)

LINE_Z = 3.0  # robust deviations of the line response at which a pixel costs the least
PENALTY = 4.0  # a plain backdrop pixel costs 1 + PENALTY times a line pixel
ADJACENT = 1.5  # px: a piece this close already touches; nothing to draw between
PATH_Z = 1.5  # a path's mean deviation for it to count as the line that joins


# A thin part's alpha from the photo's colours (matte.py)

TEXTURE = 90  # percentile of the backdrop's own deviation that the weave or grain reaches
CLEAREST = 90  # percentile of a strand's deviation taken as fully opaque
MIN_STEP = 0.08  # RGB distance: a strand less distinct than this above the texture keeps its mask


# GrabCut, the segmenter without a model (classical.py)

CLASSICAL_SIDE = 512


# A mirror image under the product, on glass, a mirror or a glossy floor (reflection.py)

MIRROR_FIT = 0.6  # IoU of the part under an axis, flipped up, with the product as deep above it
DIMMER = 0.85  # ... and its step from the backdrop at most this share of its original's
# (medians, where the original stands out from the backdrop): a reflection loses light and
# colour (glass returns a few percent, a mirror less than all); a ring standing upright
# mirrors its own top, and a kept shadow under a product continues its lower half, but
# both are as distinct as what they mirror
FADED = 0.35  # share of the part's step from the backdrop that its faded original leaves
# unexplained, at most: a reflection keeps its original's hue (a band under a stone does not)
REFLECTION_MIN = 0.04  # of the product: a smaller part under it is the outline's own shading
MIRRORED = 0.4  # correlation of its steps from the backdrop with its original's, flipped: a
# reflection repeats the detail it mirrors (the ring on glass: 0.6; a copper fold's matte
# lower face under its polished upper one: 0.1)
MATCH = 4.0  # px at work scale: a reflection is compared with its original this blurred
AXIS_REACH = 0.6  # of the product's height: the axis is looked for in its lower half only
