// Live submission status: re-fetch the #live fragment until grading and the hint are done.
// The fragment holds everything that changes with grading, staff controls included, so a
// regrade ends with the page as a reload would show it.
(function () {
  "use strict";
  var started = Date.now();
  var GIVE_UP_MS = 15 * 60 * 1000; // a model hint later than this shows on reload
  var FINISHED = ["graded", "error", "rejected"];
  var etag = null; // of the part shown: the server answers 304, from its cache, while it is current
  function poll(delay) {
    var live = document.getElementById("live");
    if (!live || live.dataset.done === "1" || Date.now() - started > GIVE_UP_MS) return;
    setTimeout(function () {
      var headers = { "X-Requested-With": "fetch" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(live.dataset.url, { credentials: "same-origin", headers: headers })
        .then(function (r) {
          if (r.status === 304) return null;
          if (!r.ok) return Promise.reject(r.status);
          etag = r.headers.get("ETag");
          return r.text();
        })
        .then(function (html) {
          if (html !== null) {
            var box = document.createElement("div");
            box.innerHTML = html;
            var fresh = box.querySelector("#live");
            var current = document.getElementById("live");
            if (fresh && current) {
              swap(current, fresh);
              markHintLine(fresh);
              settle(fresh);
            }
          }
          // Grading takes seconds; once graded, a hint may take longer: poll less often.
          var graded = document.querySelector("#live [data-status='graded']");
          poll(graded ? 3000 : 1000);
        })
        .catch(function () { poll(Math.min(delay * 2, 10000)); });
    }, delay);
  }
  // Replace the live part, keeping what the reader is doing: a part marked data-keep that the
  // server rendered the same (a half-typed override) stays as it is, <details> stay open or
  // closed, and the focus stays on its control.
  function swap(live, fresh) {
    var active = document.activeElement;
    var focusId = active && active.id && live.contains(active) ? active.id : null;
    var caret = null;
    try {
      if (focusId && typeof active.selectionStart === "number") caret = [active.selectionStart, active.selectionEnd];
    } catch (e) { /* inputs without a caret */ }
    live.querySelectorAll("details[id]").forEach(function (old) {
      var twin = fresh.querySelector("details[id='" + old.id + "']");
      if (twin) twin.open = old.open;
    });
    fresh.querySelectorAll("[data-keep]").forEach(function (part) {
      var old = Array.prototype.find.call(live.querySelectorAll("[data-keep]"), function (el) {
        return el.dataset.keep === part.dataset.keep;
      });
      if (old) part.replaceWith(old);
    });
    live.replaceWith(fresh);
    var again = focusId && document.getElementById(focusId);
    if (again) {
      again.focus();
      if (caret) try { again.setSelectionRange(caret[0], caret[1]); } catch (e) { /* no caret */ }
    }
  }
  // Messages about grading in progress ("grading has started") go once the result is shown.
  function settle(live) {
    var status = live.querySelector("[data-status]");
    if (!status || FINISHED.indexOf(status.dataset.status) < 0) return;
    document.querySelectorAll(".messages .while-grading").forEach(function (message) {
      var list = message.parentNode;
      message.remove();
      if (list && !list.children.length) list.remove();
    });
  }
  // The code listing is outside the live part: when a hint arrives, mark the line it points to.
  function markHintLine(live) {
    var line = live.dataset.hintLine && document.getElementById(live.dataset.hintLine);
    if (line) line.classList.add("hint-line");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) settle(live);
    if (live && live.dataset.etag) etag = live.dataset.etag; // the page showed this version
    poll(1000);
  });
})();

// Deadlines in the reader's own time zone (the server renders UTC as a fallback).
// The zone also goes into the "tz" cookie: the server then shows and parses times in it
// (grader/middleware.py), e.g. the deadline typed into the assignment form.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl: the server keeps its default zone */ }
})();
document.addEventListener("DOMContentLoaded", function () {
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time.local").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) el.textContent = format.format(when);
  });
});

// Destructive or bulk actions ask first: <form data-confirm="question">.
document.addEventListener("submit", function (event) {
  var question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Logging out forgets every unsent draft kept in this browser (static/js/assignment.js): the
// next person at a shared computer must not find them.
document.addEventListener("submit", function (event) {
  if (!event.target.hasAttribute || !event.target.hasAttribute("data-logout")) return;
  try {
    var stale = [];
    for (var i = 0; i < window.localStorage.length; i++) {
      var key = window.localStorage.key(i);
      if (key && key.indexOf("grader:draft:") === 0) stale.push(key);
    }
    stale.forEach(function (key) { window.localStorage.removeItem(key); });
  } catch (e) { /* storage off: nothing was kept */ }
});
