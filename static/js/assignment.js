// The student's side of an assignment (templates/courses/assignment.html), all optional: without
// JavaScript the editor simply holds the latest attempt's code and the server's wait is shown.
//
// - Unsent work is kept in this browser (localStorage) as a draft, one per user, course and
//   assignment (the form's data-draft-* attributes), so another account on a shared computer
//   never sees it; logging out forgets every draft (static/js/live.js). On reload, a draft that
//   differs from what the server put in the editor is restored, and the page says so.
// - A draft made while attempt N was the latest is over once a later attempt exists: the
//   submission page of that attempt (data-draft-sent) and the assignment page forget it.
// - "Start again from the starter code" asks first, in the page.
// - The wait before the next attempt counts down; the Submit button, disabled by the server
//   during the wait, comes back when it is over.
//
// The editor (frontend/editor.js) follows its textarea: setting the textarea's value and
// dispatching "input" on it changes the editor, and every edit in the editor is an "input" on
// the textarea. This script runs before the editor is built (deferred, and first).
(function () {
  "use strict";
  var PREFIX = "grader:draft:"; // live.js forgets these on log out

  function keyOf(el) {
    var d = el.dataset;
    return PREFIX + [d.draftUser, d.draftCourse, d.draftAssignment].join(":");
  }
  function read(key) {
    try {
      var draft = JSON.parse(window.localStorage.getItem(key));
      return draft && typeof draft.code === "string" ? draft : null;
    } catch (e) { return null; }
  }
  function write(key, draft) {
    try { window.localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* full or off */ }
  }
  function forget(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* storage off */ }
  }
  // A draft made while attempt `based` was the latest is over once attempt `latest` exists.
  function superseded(draft, latest) {
    return Number(draft.attempt || 0) < latest;
  }

  // "45 s", "4 min 10 s", "2 h 5 min": the same words as web.course_views.duration_text.
  function durationText(seconds) {
    var total = Math.ceil(seconds);
    var hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), secs = total % 60;
    if (hours) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    if (minutes) return secs ? minutes + " min " + secs + " s" : minutes + " min";
    return secs + " s";
  }
  function timeElement(iso) {
    var el = document.createElement("time");
    el.setAttribute("datetime", iso);
    var when = new Date(iso);
    try {
      el.textContent = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(when);
    } catch (e) { el.textContent = when.toLocaleString(); }
    return el;
  }

  // The submission page of one's own attempt: the draft it was sent from is no longer unsent.
  var sent = document.querySelector("[data-draft-sent]");
  if (sent) {
    var sentKey = keyOf(sent);
    var old = read(sentKey);
    if (old && superseded(old, Number(sent.dataset.draftSent))) forget(sentKey);
  }

  var form = document.getElementById("submit-form");
  var code = form && form.querySelector("textarea[name=code]");
  if (!code) return;
  var key = keyOf(form);
  var latest = Number(form.dataset.latestAttempt || 0);
  var server = code.defaultValue; // what the server put in the editor
  // Typed into the bare textarea before this script ran (a slow connection): the reader's own
  // unsent work, which wins. Only on a fresh visit: on a reload or a step back a browser may
  // have put back an older text of its own (autocomplete="off" asks it not to).
  var navigation = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
  var fresh = !navigation || navigation.type === "navigate";
  var typed = fresh && code.value !== server ? code.value : null;
  var status = document.getElementById("editor-status");
  var origin = document.getElementById("code-origin");
  var originText = origin ? origin.textContent : "";
  var timer = null;
  var storing = (function () {
    try {
      window.localStorage.setItem(PREFIX + "probe", "1");
      window.localStorage.removeItem(PREFIX + "probe");
      return true;
    } catch (e) { return false; }
  })();

  function setCode(text) {
    code.value = text;
    code.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function focusEditor() {
    var editor = form.querySelector(".cm-content");
    (editor || code).focus();
  }
  function say() { // say(text or node, ...) in the live region
    status.textContent = "";
    for (var i = 0; i < arguments.length; i++) {
      var part = arguments[i];
      status.append(typeof part === "string" ? document.createTextNode(part) : part);
    }
  }
  function showOrigin() { // where the editor's text comes from
    if (!origin) return;
    origin.textContent = code.value === server ? originText
      : storing ? "Not submitted yet: your changes are kept in this browser until you submit."
      : "Not submitted yet.";
  }
  function save() {
    timer = null;
    if (code.value === server) forget(key);
    else write(key, { code: code.value, saved: new Date().toISOString(), attempt: latest });
  }

  // Restore before the editor is built from the textarea.
  var draft = read(key);
  if (draft && (superseded(draft, latest) || draft.code === server)) {
    forget(key);
    draft = null;
  }
  if (typed !== null) draft = null;
  code.value = typed !== null ? typed : draft ? draft.code : server;
  if (typed !== null) save();
  showOrigin();
  if (draft) {
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link";
    discard.textContent = "Discard them";
    discard.addEventListener("click", function () {
      forget(key);
      setCode(server);
      say(latest ? "Discarded: the editor holds your latest attempt again." : "Discarded: the editor holds the starter code again.");
      focusEditor();
    });
    // After the live region exists, so that screen readers announce it.
    document.addEventListener("DOMContentLoaded", function () {
      say("Your unsent changes from ", timeElement(draft.saved), " were restored. ", discard);
    });
  }

  code.addEventListener("input", function () {
    showOrigin();
    clearTimeout(timer);
    timer = setTimeout(save, 300);
  });
  window.addEventListener("pagehide", function () {
    if (timer) { clearTimeout(timer); save(); }
  });
  document.addEventListener("submit", function (event) { // logging out: keep nothing
    if (event.target.hasAttribute("data-logout")) { clearTimeout(timer); timer = null; }
  });

  // Start again from the starter code: a second, explicit click replaces the editor's text.
  var reset = document.getElementById("starter-reset");
  var confirmBox = document.getElementById("starter-confirm");
  var starterData = document.getElementById("starter-code");
  if (reset && confirmBox && starterData) {
    var starter = JSON.parse(starterData.textContent);
    var closeConfirm = function () {
      confirmBox.hidden = true;
      reset.setAttribute("aria-expanded", "false");
    };
    reset.hidden = false;
    reset.addEventListener("click", function () {
      if (code.value === starter) {
        say("The editor already holds the starter code.");
        return;
      }
      confirmBox.hidden = false;
      reset.setAttribute("aria-expanded", "true");
      document.getElementById("starter-yes").focus();
    });
    document.getElementById("starter-yes").addEventListener("click", function () {
      closeConfirm();
      setCode(starter);
      say("The editor holds the starter code now. Your submitted attempts are kept below.");
      focusEditor();
    });
    document.getElementById("starter-no").addEventListener("click", function () {
      closeConfirm();
      reset.focus();
    });
    confirmBox.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { closeConfirm(); reset.focus(); }
    });
  }

  // The wait before the next attempt (the server said how long; count down from there).
  var wait = document.querySelector("[data-wait-seconds]");
  if (wait) {
    var end = Date.now() + Number(wait.dataset.waitSeconds) * 1000;
    var countdown = wait.querySelector(".countdown");
    var tick = setInterval(function () {
      var left = (end - Date.now()) / 1000;
      if (left > 0) {
        countdown.textContent = durationText(left);
        return;
      }
      clearInterval(tick);
      wait.textContent = "You can submit again now.";
      wait.classList.remove("warning");
      var button = document.getElementById("submit-button");
      if (button) { button.disabled = false; button.removeAttribute("aria-describedby"); }
    }, 1000);
  }
})();
