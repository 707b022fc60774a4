// The assignment form. Scripts only help: without them the server makes the slug from the
// title when it is left empty, and the preview button stays hidden.
(function () {
  "use strict";

  // django.utils.text.slugify, so the slug proposed here is the one the server would make.
  function slugify(text) {
    return text.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^\w\s-]/g, "").replace(/[-\s]+/g, "-").replace(/^[-_]+|[-_]+$/g, "");
  }

  // New assignment: the slug follows the title until the instructor edits the slug by hand
  // (emptying it hands it back to the title).
  function proposeSlug(form) {
    var title = form.querySelector("[name=title]");
    var slug = form.querySelector("[name=slug]");
    if (!title || !slug || slug.disabled) return;
    function proposal() {
      var max = slug.maxLength > 0 ? slug.maxLength : 64;
      return slugify(title.value).slice(0, max).replace(/[-_]+$/, "");
    }
    var byHand = slug.value !== "" && slug.value !== proposal();
    slug.addEventListener("input", function () { byHand = slug.value !== ""; });
    title.addEventListener("input", function () { if (!byHand) slug.value = proposal(); });
    // A title typed while the page's scripts were still loading gets its slug now (not a form
    // the server sent back with its title: its slug, even an empty one, is as it was sent).
    if (!byHand && title.value !== title.defaultValue) slug.value = proposal();
  }

  // The penalty's fields matter only under "late work loses points": hidden otherwise (all shown
  // without scripts, and while one of them holds an error to fix).
  function latePenalty(form) {
    var policy = form.querySelector("[name=late_policy]");
    var fields = form.querySelector("[data-late-penalty]");
    if (!policy || !fields) return;
    function show() {
      fields.hidden = policy.value !== "penalty" && !fields.querySelector("[aria-invalid=true]");
    }
    policy.addEventListener("change", show);
    show();
  }

  // The statement rendered by the server exactly as on the assignment page.
  function preview(box) {
    var button = box.querySelector("[data-preview-button]");
    var out = document.getElementById(button.getAttribute("aria-controls"));
    var source = document.getElementById(box.dataset.previewSource);
    var token = box.closest("form").querySelector("[name=csrfmiddlewaretoken]");
    if (!window.fetch || !source || !token) return;
    button.hidden = false;
    // A shown preview no longer matches once the text changes: say so until it is made again.
    source.addEventListener("input", function () {
      var heading = out.querySelector("h3");
      if (heading) heading.textContent = "Preview of an earlier version: press “Preview the statement” again";
    });
    button.addEventListener("click", function () {
      var body = new FormData();
      body.append("statement", source.value);
      out.setAttribute("aria-busy", "true");
      fetch(box.dataset.previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value, "X-Requested-With": "fetch" }
      })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          out.innerHTML = "<h3>Preview: the statement as students will see it</h3>" +
            "<section class=\"statement\">" + html + "</section>";  // sanitised by the server
        })
        .catch(function () {
          out.innerHTML = "<p class=\"error\">The preview could not be made. Your text is unchanged; try again.</p>";
        })
        .then(function () { out.removeAttribute("aria-busy"); });
    });
  }

  function start() {
    var form = document.querySelector("form[data-propose-slug]");
    if (form) proposeSlug(form);
    document.querySelectorAll("form.authoring").forEach(latePenalty);
    document.querySelectorAll("[data-preview-url]").forEach(preview);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
