// The new-run page: photos by drag and drop (or the file picker), then one POST /api/runs.
"use strict";

(() => {
  const form = document.getElementById("new-run");
  if (!form) return;
  const input = form.querySelector("#refs");
  const zone = form.querySelector("#dropzone");
  const thumbs = form.querySelector("#thumbs");
  const error = form.querySelector("#form-error");
  const start = form.querySelector('button[type="submit"]');
  const maxUploads = Number(form.dataset.maxUploads);
  let files = [];

  function render() {
    for (const img of thumbs.querySelectorAll("img")) URL.revokeObjectURL(img.src);
    thumbs.replaceChildren(
      ...files.map((file, position) => {
        const item = document.createElement("li");
        const img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = "";
        const caption = document.createElement("span");
        caption.textContent = position === 0 ? `${file.name} (the product)` : file.name;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "small";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove ${file.name}`);
        remove.addEventListener("click", () => {
          files.splice(position, 1);
          render();
        });
        item.append(img, caption, remove);
        return item;
      }),
    );
    zone.classList.toggle("has-files", files.length > 0);
  }

  function add(list) {
    for (const file of list) {
      if (files.length >= maxUploads) {
        aig.showError(error, `At most ${maxUploads} photos.`);
        break;
      }
      files.push(file);
    }
    render();
  }

  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    add(event.dataTransfer.files);
  });

  function number(name) {
    const value = form.elements[name].value.trim();
    return value === "" ? undefined : Number(value);
  }

  function config() {
    const value = (name) => form.elements[name].value;
    const settings = {
      prompt: value("prompt"),
      candidates: number("candidates"),
      max_iterations: number("max_iterations"),
      threshold: number("threshold"),
      review: value("review"),
      lock_product: form.elements.lock_product.checked,
      image: {
        size: value("size"),
        background: value("background"),
        output_format: value("output_format"),
        quality: value("quality"),
      },
      providers: { provider: value("provider") },
    };
    const budget = number("max_cost");
    if (budget !== undefined) settings.max_cost = budget;
    if (value("profile")) settings.profile = value("profile");
    for (const role of ["generator", "evaluator", "prompter"]) {
      if (value(role)) settings.providers[role] = value(role);
    }
    const options = {};
    for (const field of form.querySelectorAll("input.option")) {
      const given = field.value.trim();
      if (given && given !== field.dataset.default) {
        options[field.dataset.provider] ??= {};
        options[field.dataset.provider][field.dataset.option] = given;
      }
    }
    if (Object.keys(options).length) settings.provider_options = options;
    return settings;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    aig.showError(error, "");
    const body = new FormData();
    body.append("config", JSON.stringify(config()));
    for (const file of files) body.append("refs", file, file.name);
    start.disabled = true;
    start.textContent = "Starting…";
    try {
      const created = await aig.call("POST", "/api/runs", body);
      window.location.assign(created.url);
    } catch (failure) {
      aig.showError(error, failure.message);
      start.disabled = false;
      start.textContent = "Start";
    }
  });
})();
