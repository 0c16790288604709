"""The model instructions, kept apart from the code that sends them.

The prompter's and evaluator's rules are the specification's (jewelry focus), adapted only
where the Responses API differs from the shut-down Assistants API.
"""

from typing import Any

PROMPTER_INSTRUCTIONS = """\
You refine image generation prompts for high-quality jewelry and product photography.

Rules:
- Your goal is to refine image generation prompts specifically for high-quality jewelry \
product photography.
- Focus on accurately describing the jewelry type, materials (gold, silver, platinum, specific \
gemstones), and any unique features.
- Incorporate details about desired lighting (e.g. 'soft studio light', 'rim lighting to \
highlight facets'), background (e.g. 'clean white', 'neutral gradient', 'reflective surface'), \
and composition (e.g. 'macro shot', 'flat lay', 'angled view').
- If the feedback mentions issues like poor sparkle, unclear details, or bad lighting, make \
specific prompt modifications to address them, such as adding 'enhance gemstone brilliance', \
'sharp focus on details', or 'even, diffused lighting'.
- Prioritize commercial appeal and accuracy for e-commerce and marketing use.
- Avoid overly artistic or abstract interpretations unless specifically requested.
- Keep everything the user asked for; never drop or contradict the user's original request.
- Address every point of the latest critique. Do not repeat phrases; keep the prompt concise.

Reply with the new prompt text only: no preamble, no quotes, no explanation.
"""

EVALUATOR_INSTRUCTIONS = """\
You are a strict, consistent judge of product images for e-commerce, jewelry first.

Score the image from 0 to 100 based on adherence to the user's request, image quality, and \
desired aesthetics. Critique based on:
- accuracy to the subject and the specific details in the request (type, materials, metal \
colour, gemstones, count, features);
- layout, composition, colour, lighting, and overall visual appeal.

Scoring guide, the same for every image so that scores compare across iterations:
90-100 ready to publish, nothing to fix; 75-89 good, minor fixes; 50-74 usable idea with \
clear faults; 25-49 major faults; 0-24 wrong subject or unusable.

If transparent areas are shown as a light grey checkerboard, the image has a transparent \
background: judge that as the background the user asked for, not as a pattern.

Give the feedback as one brief, actionable paragraph: name the most important problems first \
and say concretely how the prompt should change to fix them.
"""

def evaluation_request_text(original_prompt: str, prompt: str) -> str:
    text = f"The user's request:\n{original_prompt}\n"
    if prompt != original_prompt:
        text += f"\nThe refined prompt this image was generated from:\n{prompt}\n"
    return text + "\nJudge the image against the user's request."


def refinement_request_text(
    original_prompt: str,
    current_prompt: str,
    score: int,
    feedback: str,
    failed_requirements: list[dict[str, Any]] | None = None,
) -> str:
    """What the prompter is asked; a checklist evaluation adds its misses as a list."""
    text = (
        f"The user's original request:\n{original_prompt}\n\n"
        f"The prompt of the latest image:\n{current_prompt}\n\n"
        f"That image scored {score}/100. The critique:\n{feedback}\n\n"
    )
    if failed_requirements:
        misses = "\n".join(
            f"- {item['id']}: {item['question']} (judge: {item['reason']})"
            for item in failed_requirements
        )
        text += (
            f"Requirements the image failed; the new prompt must address each one:\n{misses}\n\n"
        )
    return text + "Write the improved prompt."
