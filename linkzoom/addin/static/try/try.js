/*
 * /addin/try: a simulated Outlook message and calendar event around the real command code.
 * The page is the "host" of the Office.js stand-in: it keeps each item's fields, renders what
 * the add-in writes, and runs the associated functions when a ribbon button is pressed or an
 * event happens (a time or repeat change, a send), as Outlook would.
 */
/* global OfficeStandin */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var EVENT_STORE = "try:event";
  var busy = false;

  function localInput(iso) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function fromLocalInput(value) {
    return new Date(value).toISOString();
  }

  function randomId() {
    return "try-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  // ---- a body that remembers where the cursor was -----------------------------------------

  function richBody(element) {
    var range = null;
    document.addEventListener("selectionchange", function () {
      var selection = document.getSelection();
      if (selection.rangeCount && element.contains(selection.anchorNode)) {
        range = selection.getRangeAt(0).cloneRange();
      }
    });
    return {
      html: function () { return element.innerHTML; },
      text: function () { return element.innerText; },
      set: function (html) { element.innerHTML = html; range = null; },
      insert: function (data, isHtml) {
        var fragment = document.createRange().createContextualFragment(isHtml ? data : "");
        if (!isHtml) { fragment = document.createTextNode(data); }
        if (range) {
          range.deleteContents();
          range.insertNode(fragment);
        } else {
          element.insertBefore(fragment, element.firstChild); // never focused: at the top
        }
      }
    };
  }

  function plainBody(element) {
    var focused = false;
    element.addEventListener("focus", function () { focused = true; });
    return {
      html: function () { return element.value; },
      text: function () { return element.value; },
      set: function (text) { element.value = text; },
      insert: function (data) {
        var at = focused ? element.selectionStart : 0;
        var end = focused ? element.selectionEnd : 0;
        element.value = element.value.slice(0, at) + data + element.value.slice(end);
      }
    };
  }

  function showNotices(target) {
    return function (notices) {
      var keys = Object.keys(notices);
      var last = keys.length ? notices[keys[keys.length - 1]] : null;
      target.textContent = last ? last.message : "";
      target.className = "notice " + (last ? last.type : "");
    };
  }

  // ---- the message ------------------------------------------------------------------------

  var message = null;
  function openMessage() {
    var plain = $("message-plain").checked;
    $("message-body-html").hidden = plain;
    $("message-body-text").hidden = !plain;
    var body = plain ? plainBody($("message-body-text")) : richBody($("message-body-html"));
    var model = { id: randomId(), itemType: "message" };
    var host = {
      read: function (name) { return name === "subject" ? $("message-subject").value : ""; },
      write: function (name, value) { if (name === "subject") { $("message-subject").value = value; } },
      bodyType: function () { return plain ? "text" : "html"; },
      bodyContent: body.html,
      bodyText: body.text,
      setBody: body.set,
      insertAtCursor: body.insert,
      changed: function () {},
      notices: showNotices($("message-notice"))
    };
    message = { model: model, host: host };
    $("message-state").textContent = "";
    $("message-notice").textContent = "";
  }

  // ---- the event ----------------------------------------------------------------------------

  var event = null;
  function recurrenceOf(choice, startIso) {
    if (!choice) { return null; }
    var endless = choice === "weekly-endless";
    var kind = endless ? "weekly" : choice;
    var start = new Date(startIso);
    var days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    var properties = { interval: 1 };
    if (kind === "weekly") { properties.days = [days[start.getDay()]]; }
    if (kind === "monthly") { properties.dayOfMonth = start.getDate(); }
    // Ends after ten occurrences' worth of time, as Outlook's "End by" offers.
    var spans = { daily: 9, weekday: 13, weekly: 63, monthly: 280 };
    var end = new Date(start.getTime() + spans[kind] * 24 * 3600 * 1000);
    return {
      recurrenceType: kind,
      recurrenceProperties: properties,
      recurrenceTimeZone: { name: Intl.DateTimeFormat().resolvedOptions().timeZone },
      startDate: startIso.slice(0, 10),
      endDate: endless ? null : end.toISOString().slice(0, 10)
    };
  }

  function openEvent(saved) {
    var now = new Date();
    now.setMinutes(0, 0, 0);
    var start = new Date(now.getTime() + 24 * 3600 * 1000);
    var fields = saved || {
      id: randomId(),
      subject: "Weekly planning",
      start: start.toISOString(),
      end: new Date(start.getTime() + 3600 * 1000).toISOString(),
      repeat: "",
      location: "",
      body: "<p>Agenda to follow.</p>"
    };
    $("event-subject").value = fields.subject;
    $("event-start").value = localInput(fields.start);
    $("event-end").value = localInput(fields.end);
    $("event-repeat").value = fields.repeat;
    $("event-location").value = fields.location;
    $("event-body").innerHTML = fields.body;
    var body = richBody($("event-body"));
    var host = {
      read: function (name) {
        if (name === "subject") { return $("event-subject").value; }
        if (name === "location") { return $("event-location").value; }
        if (name === "start") { return fromLocalInput($("event-start").value); }
        if (name === "end") { return fromLocalInput($("event-end").value); }
        if (name === "recurrence") { return recurrenceOf($("event-repeat").value, fromLocalInput($("event-start").value)); }
        return null;
      },
      write: function (name, value) {
        if (name === "subject") { $("event-subject").value = value; }
        if (name === "location") { $("event-location").value = value; }
        if (name === "start" || name === "end") { $("event-" + name).value = localInput(value); }
      },
      bodyType: function () { return "html"; },
      bodyContent: body.html,
      bodyText: body.text,
      setBody: body.set,
      insertAtCursor: body.insert,
      changed: function () {},
      notices: showNotices($("event-notice"))
    };
    event = { model: { id: fields.id, itemType: "appointment", saved: !!saved }, host: host };
    $("event-state").textContent = saved ? "Reopened the saved event." : "";
    $("event-notice").textContent = "";
  }

  function saveEvent() {
    var fields = {
      id: event.model.id,
      subject: $("event-subject").value,
      start: fromLocalInput($("event-start").value),
      end: fromLocalInput($("event-end").value),
      repeat: $("event-repeat").value,
      location: $("event-location").value,
      body: $("event-body").innerHTML
    };
    localStorage.setItem(EVENT_STORE, JSON.stringify(fields));
    $("event-state").textContent = "Saved.";
  }

  // ---- running the add-in as Outlook would ------------------------------------------------

  function run(item, name, extra) {
    if (busy) { return Promise.resolve(null); } // Outlook queues; one at a time is enough here
    busy = true;
    document.body.dataset.busy = "true";
    OfficeStandin.open(item.model, item.host);
    return OfficeStandin.invoke(name, extra).then(function (options) {
      busy = false;
      document.body.dataset.busy = "false";
      document.body.dataset.lastRun = name;
      return options;
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-command]"), function (button) {
    button.addEventListener("click", function () {
      var name = button.dataset.command;
      run(name === "insertZoomInMessage" ? message : event, name);
    });
  });
  $("message-plain").addEventListener("change", openMessage);
  $("message-new").addEventListener("click", function () {
    $("message-body-html").innerHTML = "<p>Hi, can we talk?</p>";
    $("message-body-text").value = "Hi, can we talk?";
    openMessage();
  });
  // Outlook raises the send events only where Mailbox 1.12 is supported.
  var sends = function () { return window.Office.context.requirements.isSetSupported("Mailbox", "1.12"); };
  $("message-send").addEventListener("click", function () {
    if (!sends()) { $("message-state").textContent = "Sent."; return; }
    run(message, "onMessageSend").then(function (options) {
      // Outlook shows a blocked send's errorMessage in its own dialog; here it is the state.
      if (options) { $("message-state").textContent = options.allowEvent ? "Sent." : "Not sent: " + options.errorMessage; }
    });
  });
  ["event-start", "event-end"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      if (window.Office.context.requirements.isSetSupported("Mailbox", "1.11")) { run(event, "onAppointmentTimeChanged"); }
    });
  });
  $("event-repeat").addEventListener("change", function () {
    if (window.Office.context.requirements.isSetSupported("Mailbox", "1.11")) { run(event, "onAppointmentRecurrenceChanged"); }
  });
  $("event-save").addEventListener("click", saveEvent);
  $("event-send").addEventListener("click", function () {
    if (!sends()) { saveEvent(); $("event-state").textContent = "Invitations sent."; return; }
    run(event, "onAppointmentSend").then(function (options) {
      if (options) { saveEvent(); $("event-state").textContent = "Invitations sent."; }
    });
  });
  $("event-new").addEventListener("click", function () {
    localStorage.removeItem(EVENT_STORE);
    openEvent(null);
  });
  $("sign-out").addEventListener("click", function () {
    OfficeStandin.resetSettings();
    $("message-state").textContent = "Signed out.";
  });

  var saved = null;
  try { saved = JSON.parse(localStorage.getItem(EVENT_STORE) || "null"); } catch (e) { saved = null; }
  openMessage();
  openEvent(saved);
  document.body.dataset.ready = "true";
})();
