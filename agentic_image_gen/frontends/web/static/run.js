// A run's page: its events as they happen (server-sent events), the cards they fill, the
// review, the compare slider and the region editor. Text from runs is set as text, never HTML.
"use strict";

(() => {
  const root = document.getElementById("run");
  if (!root) return;
  const runId = root.dataset.runId;
  const threshold = Number(root.dataset.threshold);
  const editReason = root.dataset.editReason;
  let references = JSON.parse(root.dataset.references || "[]");
  const rounds = document.getElementById("rounds");
  const template = document.getElementById("card-template");
  const stage = document.getElementById("stage");
  const bar = document.getElementById("bar");
  const cost = document.getElementById("cost");
  const views = new Map();
  const cards = new Map();
  let maxRounds = Number(root.dataset.maxRounds);
  let candidates = Number(root.dataset.candidates);
  let active = ["queued", "running", "waiting"].includes(
    document.getElementById("status-chip")?.textContent.split(" ")[0],
  );
  let source = null;
  let lastId = "";
  let received = 0;
  let best = null;

  // ---- cards ------------------------------------------------------------------------------
  function roundSection(number) {
    let section = rounds.querySelector(`section[data-round="${number}"]`);
    if (section) return section;
    section = document.createElement("section");
    section.className = "round";
    section.dataset.round = number;
    const head = document.createElement("header");
    head.className = "round-head";
    const title = document.createElement("h2");
    title.textContent = `Round ${number}`;
    const prompt = document.createElement("p");
    prompt.className = "round-prompt";
    head.append(title, prompt);
    const grid = document.createElement("div");
    grid.className = "cards";
    section.append(head, grid);
    const later = [...rounds.children].find((s) => Number(s.dataset.round) < number);
    rounds.insertBefore(section, later || null); // the newest round first
    return section;
  }

  function scoreClass(score) {
    if (score >= threshold) return "good";
    return score >= threshold - 15 ? "near" : "low";
  }

  function newCard(view) {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.index = view.index;
    card.dataset.candidate = view.candidate;
    const title = card.querySelector(".card-title");
    title.textContent = `Candidate ${view.candidate}`;
    const number = document.createElement("span");
    number.className = "muted";
    number.textContent = ` #${view.index}`;
    title.append(number);
    const compare = card.querySelector(".compare-button");
    compare.textContent = "Compare";
    compare.setAttribute("aria-label", `Compare image ${view.index}`);
    compare.addEventListener("click", () => openCompare(view.index));
    const edit = card.querySelector(".edit-button");
    edit.textContent = "Edit a region";
    edit.setAttribute("aria-label", `Edit a region of image ${view.index}`);
    edit.addEventListener("click", () => openEditor(view.index));
    const section = roundSection(view.round);
    const grid = section.querySelector(".cards");
    const next = [...grid.children].find((c) => Number(c.dataset.candidate) > view.candidate);
    grid.insertBefore(card, next || null);
    cards.set(view.index, card);
    return card;
  }

  function show(view) {
    views.set(view.index, view);
    const card = cards.get(view.index) || newCard(view);
    const img = card.querySelector(".frame img");
    if (view.image_url && img.getAttribute("src") !== view.image_url) {
      img.src = view.image_url;
      img.alt = `Round ${view.round}, candidate ${view.candidate}`;
      card.querySelector(".pending").hidden = true;
    }
    const prompt = rounds.querySelector(`section[data-round="${view.round}"] .round-prompt`);
    if (view.candidate === 1 && view.prompt) prompt.textContent = view.prompt;
    const score = card.querySelector(".score");
    if (view.score !== null && view.score !== undefined) {
      score.textContent = view.score;
      score.className = `score ${scoreClass(view.score)}`;
      score.hidden = false;
      score.setAttribute("aria-label", `score ${view.score}`);
    } else if (view.image_url) {
      card.querySelector(".pending").hidden = true;
    }
    const critique = card.querySelector(".critique");
    critique.textContent = view.feedback || "";
    critique.hidden = !view.feedback;
    const checklist = card.querySelector(".checklist");
    checklist.replaceChildren(
      ...(view.requirements || []).map((item) => {
        const line = document.createElement("li");
        line.className = item.passed ? "passed" : "failed";
        line.textContent = `${item.passed ? "✓" : "✗"} ${item.question}`;
        if (item.reason) line.title = item.reason;
        return line;
      }),
    );
    checklist.hidden = !(view.requirements && view.requirements.length);
    const fidelity = card.querySelector(".fidelity");
    if (view.fidelity) {
      const f = view.fidelity;
      fidelity.textContent =
        `Fidelity to the photo: detail ${f.ssim.toFixed(2)} · colour ΔE ${f.delta_e.toFixed(1)}` +
        ` · shape ${f.shape_iou.toFixed(2)}`;
      fidelity.hidden = false;
    }
    updateEditButton(card);
  }

  function updateEditButton(card) {
    const edit = card.querySelector(".edit-button");
    const reason = editReason || (active ? "the run is still going: edit it once it has stopped" : "");
    edit.disabled = Boolean(reason);
    edit.title = reason ? `Not available: ${reason}` : "Paint over a region and describe the change";
  }

  function markBest(index) {
    best = index;
    for (const [key, card] of cards) {
      card.classList.toggle("best", key === index);
      const badge = card.querySelector(".best-badge");
      badge.hidden = key !== index;
      badge.textContent = active ? "Best so far" : "Best";
    }
  }

  // ---- events -----------------------------------------------------------------------------
  const stages = {
    generating: (d) => `Round ${d.round}: making candidate ${d.candidate}…`,
    evaluating: (d) => `Round ${d.round}: judging candidate ${d.candidate}…`,
    refining: (d) => `Writing the prompt for round ${d.round + 1}…`,
  };

  const handlers = {
    run_started(d) {
      active = true;
      if (d.references && d.references.length) references = d.references;
      maxRounds = d.max_rounds || maxRounds;
      candidates = d.candidates || candidates;
      stage.textContent = "Started";
      aig.fire("run-changed");
    },
    stage_started(d) {
      stage.textContent = stages[d.stage] ? stages[d.stage](d) : d.stage;
    },
    review_requested() {
      stage.textContent = "Waiting for your review";
      aig.fire("review-changed");
      aig.fire("run-changed");
    },
    run_finished(d) {
      active = false;
      // A run refused before it began: the summary above says why, once.
      const why = d.error && d.began !== false ? `: ${d.error}` : "";
      stage.textContent = d.error ? `${d.label}${why}` : `Finished: ${d.label}`;
      bar.parentElement.classList.add("done");
      if (source) source.close();
      if (best !== null) markBest(best);
      for (const card of cards.values()) updateEditButton(card);
      aig.fire("review-changed");
      aig.fire("run-changed");
    },
  };

  function progress(p) {
    if (!p) return;
    const total = Math.max(1, maxRounds * candidates);
    const part = Math.min(100, Math.round((100 * p.images) / total));
    bar.style.width = `${part}%`;
    bar.parentElement.setAttribute("aria-valuenow", String(part));
    cost.textContent = `Cost so far $${p.cost_usd.toFixed(p.cost_usd && p.cost_usd < 0.1 ? 4 : 2)}`;
    if (p.best_iteration) markBest(p.best_iteration);
  }

  function apply(name, event) {
    lastId = event.lastEventId || lastId;
    const data = JSON.parse(event.data);
    received += 1;
    document.body.dataset.events = String(received);
    for (const view of data.iterations || []) show(view);
    progress(data.progress);
    if (handlers[name]) handlers[name](data);
    refreshCompare();
  }

  function connect() {
    if (source) source.close();
    const query = lastId ? `?last_event_id=${encodeURIComponent(lastId)}` : "";
    source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events${query}`);
    for (const name of Object.keys(handlers).concat(["image_saved", "image_scored"])) {
      source.addEventListener(name, (event) => apply(name, event));
    }
  }

  // ---- actions: cancel, resume, review ----------------------------------------------------
  document.addEventListener("click", async (event) => {
    const pick = event.target.closest("button.pick");
    if (pick) {
      const form = pick.closest("form");
      const again = pick.getAttribute("aria-pressed") === "true";
      for (const other of form.querySelectorAll("button.pick")) {
        other.setAttribute("aria-pressed", "false");
        other.closest("figure").classList.remove("picked");
      }
      if (!again) {
        pick.setAttribute("aria-pressed", "true");
        pick.closest("figure").classList.add("picked");
      }
      form.dataset.pick = again ? "" : pick.dataset.pick;
      return;
    }
    const intent = event.target.closest("[data-intent]");
    if (intent) {
      await decide(intent.closest("form"), intent.dataset.intent);
      return;
    }
    if (event.target.closest('[data-action="cancel"]')) {
      try {
        await aig.call("POST", `/api/runs/${encodeURIComponent(runId)}/cancel`);
        stage.textContent = "Cancelling…";
      } catch (failure) {
        stage.textContent = failure.message;
      }
    }
  });

  async function decide(form, intent) {
    const body = {};
    const picked = form.dataset.pick ? Number(form.dataset.pick) : null;
    if (picked !== null) body.pick = picked;
    if (form.dataset.kind === "round") {
      body.notes = form.elements.notes ? form.elements.notes.value : "";
      const prompt = form.elements.prompt ? form.elements.prompt.value.trim() : "";
      if (prompt && intent !== "accept") body.prompt = prompt;
    }
    if (intent === "accept") body.accept = true;
    if (intent === "retry") body.pick = null;
    const error = form.querySelector('[role="alert"]');
    const panel = form.closest(".review-panel");
    const buttons = [...form.querySelectorAll("button")];
    const sending = "Sending your decision…";
    for (const button of buttons) button.disabled = true;
    stage.textContent = sending;
    try {
      await aig.call("POST", `/api/runs/${encodeURIComponent(runId)}/decision`, body);
      panel.remove(); // (a newer request's panel, swapped in meanwhile, stays)
      if (stage.textContent === sending) {
        stage.textContent = intent === "accept" ? "Accepted: finishing…" : "Going on…";
      }
    } catch (failure) {
      for (const button of buttons) button.disabled = false;
      stage.textContent = "Waiting for your review";
      aig.showError(error, failure.message);
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest('form[data-action="resume"]');
    if (!form) return;
    event.preventDefault();
    const limits = {};
    for (const field of form.querySelectorAll("input[name]")) {
      if (field.value.trim() !== "") limits[field.name] = Number(field.value);
    }
    try {
      await aig.call("POST", `/api/runs/${encodeURIComponent(runId)}/resume`, limits);
      active = true;
      bar.parentElement.classList.remove("done");
      stage.textContent = "Resuming…";
      connect();
      aig.fire("run-changed");
    } catch (failure) {
      aig.showError(form.querySelector('[role="alert"]'), failure.message);
    }
  });

  // ---- compare ----------------------------------------------------------------------------
  const comparePanel = document.getElementById("compare");
  const before = document.getElementById("before");
  const after = document.getElementById("after");
  const beforeImage = document.getElementById("before-image");
  const afterImage = document.getElementById("after-image");
  const split = document.getElementById("split");
  const handle = document.getElementById("compare-handle");
  const view = document.getElementById("compare-view");
  const stageBox = document.getElementById("compare-stage");
  const zoom = { scale: 1, x: 0, y: 0 };

  function choices() {
    const list = references.map((url, n) => ({ value: `ref-${n}`, label: `Photo ${n + 1}`, url }));
    for (const v of [...views.values()].sort((a, b) => a.index - b.index)) {
      if (!v.image_url) continue;
      const score = v.score === null || v.score === undefined ? "" : ` · score ${v.score}`;
      const label = `#${v.index} · round ${v.round}, candidate ${v.candidate}${score}`;
      list.push({ value: `img-${v.index}`, label, url: v.image_url });
    }
    return list;
  }

  function fill(select, list) {
    const keep = select.value;
    select.replaceChildren(...list.map((c) => new Option(c.label, c.value)));
    if (list.some((c) => c.value === keep)) select.value = keep;
  }

  function refreshCompare() {
    if (comparePanel.hidden) return;
    const list = choices();
    fill(before, list);
    fill(after, list);
    drawCompare();
  }

  function drawCompare() {
    const list = choices();
    const find = (value) => list.find((c) => c.value === value);
    const b = find(before.value);
    const a = find(after.value);
    if (b && beforeImage.getAttribute("src") !== b.url) beforeImage.src = b.url;
    if (a && afterImage.getAttribute("src") !== a.url) afterImage.src = a.url;
    // The split is where the handle is on screen; the clip is in the zoomed stage's own units.
    const width = view.clientWidth || 1;
    const inStage = (((Number(split.value) / 100) * width - zoom.x) / zoom.scale / width) * 100;
    const clip = Math.round(Math.min(100, Math.max(0, inStage)) * 100) / 100;
    afterImage.style.clipPath = `inset(0 0 0 ${clip}%)`;
    handle.style.left = `${split.value}%`;
    stageBox.style.transform = `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})`;
    document.getElementById("zoom-level").textContent = `${Math.round(zoom.scale * 100)}%`;
  }

  function openCompare(index) {
    comparePanel.hidden = false;
    const list = choices();
    fill(before, list);
    fill(after, list);
    after.value = `img-${index}`;
    const earlier = [...views.keys()].filter((k) => k < index).pop();
    before.value = references.length ? "ref-0" : earlier ? `img-${earlier}` : `img-${index}`;
    zoom.scale = 1;
    zoom.x = zoom.y = 0;
    drawCompare();
    comparePanel.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function zoomBy(factor, cx, cy) {
    const rect = view.getBoundingClientRect();
    const px = cx === undefined ? rect.width / 2 : cx - rect.left;
    const py = cy === undefined ? rect.height / 2 : cy - rect.top;
    const scale = Math.min(8, Math.max(1, zoom.scale * factor));
    const ratio = scale / zoom.scale;
    zoom.x = px - (px - zoom.x) * ratio;
    zoom.y = py - (py - zoom.y) * ratio;
    zoom.scale = scale;
    if (scale === 1) zoom.x = zoom.y = 0;
    drawCompare();
  }

  before.addEventListener("change", drawCompare);
  after.addEventListener("change", drawCompare);
  split.addEventListener("input", drawCompare);
  document.getElementById("zoom-in").addEventListener("click", () => zoomBy(1.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoomBy(1 / 1.5));
  document.getElementById("zoom-reset").addEventListener("click", () => zoomBy(0));
  view.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomBy(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX, event.clientY);
  }, { passive: false });
  let drag = null;
  view.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, zx: zoom.x, zy: zoom.y, pan: zoom.scale > 1 };
    view.setPointerCapture(event.pointerId);
    if (!drag.pan) moveSplit(event);
  });
  view.addEventListener("pointermove", (event) => {
    if (!drag) return;
    if (drag.pan) {
      zoom.x = drag.zx + event.clientX - drag.x;
      zoom.y = drag.zy + event.clientY - drag.y;
      drawCompare();
    } else {
      moveSplit(event);
    }
  });
  view.addEventListener("pointerup", () => { drag = null; });
  function moveSplit(event) {
    const rect = view.getBoundingClientRect();
    split.value = String(Math.round((100 * (event.clientX - rect.left)) / rect.width));
    drawCompare();
  }

  // ---- region edit ------------------------------------------------------------------------
  const dialog = document.getElementById("editor");
  const editImage = document.getElementById("editor-image");
  const mask = document.getElementById("editor-mask");
  const brush = document.getElementById("brush");
  const editError = document.getElementById("editor-error");
  let editing = null;
  let painting = false;

  function openEditor(index) {
    const v = views.get(index);
    if (!v || !v.image_url) return;
    editing = index;
    aig.showError(editError, "");
    editImage.onload = () => {
      mask.width = editImage.naturalWidth;
      mask.height = editImage.naturalHeight;
    };
    editImage.src = v.image_url;
    dialog.showModal();
  }

  function paint(event) {
    const rect = mask.getBoundingClientRect();
    const scale = mask.width / rect.width;
    const ctx = mask.getContext("2d");
    ctx.fillStyle = "#e11d48";
    ctx.beginPath();
    ctx.arc((event.clientX - rect.left) * scale, (event.clientY - rect.top) * scale,
      (Number(brush.value) / 2) * scale, 0, Math.PI * 2);
    ctx.fill();
  }

  mask.addEventListener("pointerdown", (event) => {
    painting = true;
    mask.setPointerCapture(event.pointerId);
    paint(event);
  });
  mask.addEventListener("pointermove", (event) => { if (painting) paint(event); });
  mask.addEventListener("pointerup", () => { painting = false; });
  document.getElementById("editor-clear").addEventListener("click", () => {
    mask.getContext("2d").clearRect(0, 0, mask.width, mask.height);
  });

  document.getElementById("editor-apply").addEventListener("click", async () => {
    // The mask the generator reads: opaque (kept) everywhere but where the person painted.
    const out = document.createElement("canvas");
    out.width = mask.width;
    out.height = mask.height;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(mask, 0, 0);
    const blob = await new Promise((resolve) => out.toBlob(resolve, "image/png"));
    const body = new FormData();
    body.append("iteration", String(editing));
    body.append("prompt", document.getElementById("edit-prompt").value);
    body.append("mask", blob, "mask.png");
    try {
      await aig.call("POST", `/api/runs/${encodeURIComponent(runId)}/edit`, body);
      dialog.close();
      active = true;
      bar.parentElement.classList.remove("done");
      stage.textContent = "Editing…";
      for (const card of cards.values()) updateEditButton(card);
      connect();
      aig.fire("run-changed");
    } catch (failure) {
      aig.showError(editError, failure.message);
    }
  });

  if (editReason) {
    const note = document.createElement("p");
    note.className = "muted edit-note";
    note.textContent = `Region edits are not available for this run: ${editReason}.`;
    rounds.before(note);
  }
  connect();
})();
