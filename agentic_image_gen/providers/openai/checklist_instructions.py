"""Instructions and schemas of the checklist evaluator (``--evaluator checklist``)."""

from __future__ import annotations

from agentic_image_gen.core.checklist import Requirement

CHECKLIST_INSTRUCTIONS = """\
You turn a request for a product image into a checklist of atomic, verifiable requirements, \
the way TIFA and Davidsonian Scene Graph decompose prompts.

Rules:
- One requirement per visual fact a viewer could verify with a yes/no look: the object, each \
attribute, counts, relations, materials and metal colour, gemstones (type, colour, cut, count), \
lighting, background, composition, any text, and style.
- Phrase each as a yes/no question about the image ("Is the band yellow gold?").
- Ids are R1, R2, ... in order. A requirement that only makes sense if another holds lists \
that one in depends_on (e.g. "Is the sapphire set in the ring?" depends on "Is there a ring?").
- Weight 1-5: 5 for the subject itself, 4 for what the buyer pays for (metal, stones), 3 for \
background and lighting the request names, 1-2 for nice-to-haves.
- If reference photos of the product are attached, add category "identity" requirements that \
the image shows the SAME product: shape, metal colour, stone cut, colour and count, engravings \
or distinctive details visible in the references. Weight them 4-5.
- Only what the request or references actually ask; no generic quality items (rated apart).
- 4 to 14 requirements.
"""

JUDGE_INSTRUCTIONS = """\
You are a strict, consistent judge of a product image against a fixed checklist.

For every requirement id, answer passed true only if the image clearly satisfies it, with a \
short reason naming what you see. Identity requirements compare the candidate with the \
reference photos (shown first, labelled): pass only if it is recognisably the same product.
Rate technical quality 0-10 on each aspect: sharpness (focus, detail on facets and edges), \
lighting (exposure, no blown highlights, flattering reflections), composition (framing, \
centring, fill), realism (no artefacts, distortions or impossible geometry).
If transparent areas are shown as a light grey checkerboard, the background is transparent.
Then write one brief, actionable paragraph of feedback: the most important misses first, and \
how the prompt should change to fix each.
"""

COMPARE_INSTRUCTIONS = """\
Two candidate product images scored almost the same. Decide which one better fulfils the \
user's request for an e-commerce product shot (accuracy first, then fidelity to any reference \
photos, then technical quality and commercial appeal). Answer "A" or "B" with a one-sentence \
reason.
"""


def checklist_request_text(original_prompt: str, reference_count: int) -> str:
    text = f"The user's request:\n{original_prompt}\n"
    if reference_count:
        text += f"\n{reference_count} reference photo(s) of the product are attached.\n"
    return text + "\nWrite the checklist."


def judge_request_text(original_prompt: str, checklist: list[Requirement], references: int) -> str:
    lines = "\n".join(f"{r.id} [{r.category}] {r.question}" for r in checklist)
    text = f"The user's request:\n{original_prompt}\n\nThe checklist:\n{lines}\n"
    if references:
        text += (
            f"\nThe first {references} image(s) are reference photos; the last is the candidate.\n"
        )
    return text + "\nJudge the candidate image."
