/*
 * linkzoom's Outlook add-in command code: the compose button, the calendar toggle and the
 * event-based handlers. One classic script with no imports, because classic Outlook on Windows
 * runs event handlers in a JavaScript-only runtime that loads a single file and has no DOM
 * (Microsoft, docs/develop/event-based-activation.md). linkzoom serves it at /addin/addin.js
 * with `LINKZOOM` (public URL, add-in id) defined in front of it.
 *
 * The manifests ask for Mailbox 1.5 so Exchange Server mailboxes load the add-in; every newer
 * API is checked with Office.context.requirements.isSetSupported before it is used.
 *
 * What talks to what:
 *   button / event  ->  Office.js (item: subject, times, body, location, custom properties)
 *                   ->  linkzoom /api/v1 (device token from roamingSettings)
 *   401  -> sign-in dialog (/addin/sign-in) hands back a device token with messageParent
 *   409  -> Zoom consent dialog (authorize_url) hands back a claim code; the add-in claims it
 */
/* global Office, LINKZOOM */
(function (root) {
  "use strict";

  var CONFIG = typeof LINKZOOM !== "undefined" ? LINKZOOM : { publicUrl: "", addinId: "" };
  var BASE = CONFIG.publicUrl.replace(/\/$/, "");
  var TOKEN_SETTING = "linkzoom.token";
  var USER_SETTING = "linkzoom.username";
  var EVENT_KEY = "linkzoom_event_key";
  var MEETING_ID = "linkzoom_meeting_id";
  var COMPOSE_ID = "linkzoom_compose_meeting_id";
  var NOTICE = "linkzoom";
  var LOCATION_LIMIT = 255; // Office: location.setAsync, DataExceedsMaximumSize past 255

  // ---- Office.js, promised -------------------------------------------------------------

  function supports(version) {
    var requirements = Office.context.requirements;
    return !!(requirements && requirements.isSetSupported("Mailbox", version));
  }

  function promised(target, method, args) {
    return new Promise(function (resolve, reject) {
      target[method].apply(target, (args || []).concat([function (result) {
        if (result.status === Office.AsyncResultStatus.Succeeded) {
          resolve(result.value);
        } else {
          reject(officeError(result.error));
        }
      }]));
    });
  }

  function officeError(error) {
    var failure = new Error((error && error.message) || "Outlook refused the change.");
    failure.officeName = error && error.name;
    failure.userMessage = "Outlook refused the change: " + failure.message;
    return failure;
  }

  function item() {
    return Office.context.mailbox.item;
  }

  // ---- linkzoom's API ---------------------------------------------------------------------

  function problem(response, body) {
    var failure = new Error((body && body.detail) || ("linkzoom answered " + response.status));
    failure.status = response.status;
    failure.problem = body || {};
    failure.retryAfter = response.headers.get("retry-after");
    return failure;
  }

  function request(method, path, token, body, headers) {
    var options = { method: method, headers: Object.assign({}, headers || {}) };
    if (token) {
      options.headers.authorization = "Bearer " + token;
    }
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(BASE + path, options).then(function (response) {
      if (response.status === 204) {
        return { status: 204, body: null, response: response };
      }
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return { status: response.status, body: parsed, response: response };
      });
    }, function () {
      var failure = new Error("linkzoom cannot be reached. Check your connection and try again.");
      failure.status = 0;
      throw failure;
    });
  }

  function storedToken() {
    return Office.context.roamingSettings.get(TOKEN_SETTING) || null;
  }

  function storeToken(token, username) {
    var settings = Office.context.roamingSettings;
    if (token) {
      settings.set(TOKEN_SETTING, token);
      settings.set(USER_SETTING, username || "");
    } else {
      settings.remove(TOKEN_SETTING);
      settings.remove(USER_SETTING);
    }
    return promised(settings, "saveAsync");
  }

  // A call with the device token; signs in and connects Zoom as needed (interactive only:
  // event handlers cannot open dialogs, Microsoft blocks displayDialogAsync there).
  function call(method, path, body, options) {
    options = options || {};
    var token = storedToken();
    var attempt = function (signedIn, consented) {
      var ready = token ? Promise.resolve(token) : (options.interactive ? signIn() : noToken());
      return ready.then(function (current) {
        token = current;
        return request(method, path, token, body, options.headers);
      }).then(function (answer) {
        if (answer.status === 401 && !signedIn) {
          token = null;
          return storeToken(null).then(function () {
            if (!options.interactive) { return noToken(); }
            return attempt(true, consented);
          });
        }
        var body_ = answer.body || {};
        if (answer.status === 409 && body_.authorize_url && !consented) {
          if (!options.interactive) { throw problem(answer.response, body_); }
          return connectZoom(body_.authorize_url, token).then(function () {
            return attempt(signedIn, true);
          });
        }
        if (answer.status >= 400 || answer.status === 0) {
          throw problem(answer.response, body_);
        }
        return answer.body;
      });
    };
    return attempt(false, false);
  }

  function noToken() {
    var failure = new Error("Sign in to linkzoom first: press the Zoom button.");
    failure.status = 401;
    return Promise.reject(failure);
  }

  // ---- dialogs ----------------------------------------------------------------------------

  function dialog(url, expected) {
    return new Promise(function (resolve, reject) {
      Office.context.ui.displayDialogAsync(url, { height: 70, width: 40 }, function (opened) {
        if (opened.status !== Office.AsyncResultStatus.Succeeded) {
          var failure = new Error("Outlook could not open the window: " + opened.error.message);
          failure.userMessage = failure.message + " Allow pop-ups for Outlook and try again.";
          reject(failure);
          return;
        }
        var box = opened.value;
        box.addEventHandler(Office.EventType.DialogMessageReceived, function (arg) {
          var message = null;
          try { message = JSON.parse(arg.message); } catch (e) { return; }
          // Only our own pages may answer (origin is given from Mailbox 1.? on; check if so).
          if (arg.origin && BASE && arg.origin !== new URL(BASE).origin) { return; }
          if (!message || message.type !== expected) { return; }
          box.close();
          resolve(message);
        });
        box.addEventHandler(Office.EventType.DialogEventReceived, function () {
          var failure = new Error("The window was closed before it finished.");
          failure.cancelled = true;
          reject(failure);
        });
      });
    });
  }

  function signIn() {
    return dialog(BASE + "/addin/sign-in", "linkzoom-session").then(function (message) {
      return storeToken(message.token, message.username).then(function () {
        return message.token;
      });
    });
  }

  // DESIGN.md, "Consent is claimed by the device": the callback page hands the dialog a
  // one-time code; only this device's token can turn it into a linked Zoom account.
  function connectZoom(authorizeUrl, token) {
    return dialog(authorizeUrl, "linkzoom-zoom-claim").then(function (message) {
      return request("POST", "/api/v1/zoom/authorizations/claim", token, { code: message.code });
    }).then(function (answer) {
      if (answer.status !== 200) {
        throw problem(answer.response, answer.body);
      }
    });
  }

  // ---- notifications ----------------------------------------------------------------------

  function notify(text) {
    var messages = item().notificationMessages;
    return promised(messages, "replaceAsync", [NOTICE, {
      type: Office.MailboxEnums.ItemNotificationMessageType.InformationalMessage,
      message: text.slice(0, 150),
      icon: "Icon.16",
      persistent: false
    }]).catch(function () { /* a notice that cannot be shown is no reason to fail */ });
  }

  function notifyError(failure) {
    var messages = item().notificationMessages;
    return promised(messages, "replaceAsync", [NOTICE, {
      type: Office.MailboxEnums.ItemNotificationMessageType.ErrorMessage,
      message: explain(failure).slice(0, 150)
    }]).catch(function () {});
  }

  // Each problem becomes a sentence the user can act on (problem types: DESIGN.md, HTTP API).
  function explain(failure) {
    var code = ((failure.problem || {}).type || "").split("/").pop();
    if (failure.userMessage) { return failure.userMessage; }
    if (failure.cancelled) { return "Cancelled: nothing was added."; }
    if (failure.status === 403 || code === "feature-disabled") {
      return "Zoom is not enabled for your organisation yet. Ask your linkzoom administrator.";
    }
    if (failure.status === 429 && code === "zoom-rate-limited") {
      var when = (failure.problem || {}).retry_at || (failure.problem || {}).resets_at;
      return "Zoom's daily limit for your account is reached" +
        (when ? "; it resets at " + when + "." : "; try again tomorrow.") + " Nothing was added.";
    }
    if (failure.status === 429) {
      return "Too many attempts. Wait " + (failure.retryAfter || "a few") + " seconds and try again.";
    }
    if (failure.status === 409) {
      return "Zoom must be connected again before a meeting can be added. Press the button again.";
    }
    if (failure.status === 503 || failure.status === 502 || code === "zoom-unavailable") {
      return "Zoom is not answering right now, so nothing was added. Try again in a moment.";
    }
    if (failure.status === 401) {
      return failure.message;
    }
    return (failure.problem && failure.problem.detail) || failure.message;
  }

  // ---- the item ---------------------------------------------------------------------------

  function subject() {
    return promised(item().subject, "getAsync").catch(function () { return ""; });
  }

  function bodyType() {
    return promised(item().body, "getTypeAsync");
  }

  function insertAtCursor(invitation) {
    return bodyType().then(function (type) {
      var html = type === Office.CoercionType.Html;
      return promised(item().body, "setSelectedDataAsync", [
        html ? invitation.html : invitation.text,
        { coercionType: html ? Office.CoercionType.Html : Office.CoercionType.Text }
      ]);
    });
  }

  function readBody() {
    return bodyType().then(function (type) {
      return promised(item().body, "getAsync", [type]).then(function (text) {
        return { type: type, text: text || "" };
      });
    });
  }

  function writeBody(type, text) {
    return promised(item().body, "setAsync", [text, { coercionType: type }]);
  }

  // The invitation block: the HTML one is a <div data-linkzoom-event="key">; a text body
  // holds the invitation's exact text.
  function withoutInvitation(body, kind, marker, invitation) {
    if (body.type === Office.CoercionType.Html) {
      var escaped = marker.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      // The block holds paragraphs and links only, never a nested <div>, so the first </div>
      // after its opening tag closes it (a DOM is not available in every runtime).
      var block = new RegExp("<div[^>]*data-linkzoom-" + kind + "=\"" + escaped + "\"[^>]*>[\\s\\S]*?</div>", "g");
      return body.text.replace(block, "");
    }
    return invitation ? body.text.split(invitation.text.trim()).join("") : body.text;
  }

  function appendInvitation(invitation) {
    return readBody().then(function (body) {
      var html = body.type === Office.CoercionType.Html;
      var addition = html ? invitation.html : "\n\n" + invitation.text;
      return writeBody(body.type, body.text + addition);
    });
  }

  function customProperties() {
    return promised(item(), "loadCustomPropertiesAsync");
  }

  function saveProperties(properties) {
    return promised(properties, "saveAsync");
  }

  function newKey() {
    if (root.crypto && root.crypto.randomUUID) { return root.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (part) { return part.join(""); }).join("-");
  }

  function clientZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return undefined; }
  }

  // ---- compose: a meeting that starts when the message is sent --------------------------

  function insertZoomInMessage(event) {
    var where = composeStore();
    recall(where).then(function (earlier) {
      if (!earlier) { return null; }
      return readBody().then(function (body) { return stillThere(body, earlier) ? earlier : null; });
    }).then(function (already) {
      if (already) {
        return notify("This message already has a Zoom meeting.");
      }
      return subject().then(function (topic) {
        // One key per press: a retry after sign-in, consent or a lost answer reuses it, so
        // linkzoom answers the same meeting instead of making a second one.
        var key = newKey();
        return call("POST", "/api/v1/compose/meetings", {
          topic: topic || undefined,
          timezone: clientZone()
        }, { interactive: true, headers: { "Idempotency-Key": key } });
      }).then(function (meeting) {
        return insertAtCursor(meeting.invitation).then(function () {
          return store(where, { id: meeting.id, join_url: meeting.join_url });
        }).then(function () {
          return notify("Zoom meeting added. It starts when you send this message.");
        });
      });
    }).catch(notifyError).then(function () { event.completed(); });
  }

  // Session data (Mailbox 1.11) lives as long as the compose window; older clients keep the
  // meeting in the item's custom properties instead.
  function composeStore() {
    return supports("1.11") && item().sessionData ? "session" : "properties";
  }

  // The HTML block carries the meeting's id; in a text body the join link stands for it.
  function stillThere(body, remembered) {
    if (body.type === Office.CoercionType.Html) {
      return body.text.indexOf("data-linkzoom-meeting=\"" + remembered.id + "\"") !== -1;
    }
    return body.text.indexOf(remembered.join_url) !== -1;
  }

  function recall(where) {
    var read = where === "session"
      ? promised(item().sessionData, "getAsync", [COMPOSE_ID])
      : customProperties().then(function (properties) { return properties.get(COMPOSE_ID); });
    return read.then(function (value) {
      try { return value ? JSON.parse(value) : null; } catch (e) { return null; }
    }, function () { return null; });
  }

  function store(where, remembered) {
    var value = JSON.stringify(remembered);
    if (where === "session") {
      return promised(item().sessionData, "setAsync", [COMPOSE_ID, value]);
    }
    return customProperties().then(function (properties) {
      properties.set(COMPOSE_ID, value);
      return saveProperties(properties);
    });
  }

  // OnMessageSend (Mailbox 1.12): the block still in the message -> the meeting starts now;
  // removed -> the meeting is deleted. linkzoom stops a send for one reason only: the block
  // names a meeting that no longer exists (deleted at Zoom, or a draft left unsent so long
  // that linkzoom took it for discarded), because the recipients would get a dead link. Any
  // other trouble (offline, Zoom down) lets the message go with the meeting as it was.
  var DEAD_LINK = "The Zoom meeting in this message no longer exists. Remove its invitation " +
    "and press Zoom again to add a new one.";

  function onMessageSend(event) {
    recall(composeStore()).then(function (remembered) {
      if (!remembered || !storedToken()) { return null; }
      return readBody().then(function (body) {
        var path = "/api/v1/compose/meetings/" + encodeURIComponent(remembered.id);
        if (!stillThere(body, remembered)) { return call("DELETE", path); }
        return call("POST", path + "/sent", { sent_at: new Date().toISOString() }).catch(function (failure) {
          if (failure.status === 404) { return { allowEvent: false, errorMessage: DEAD_LINK }; }
          throw failure;
        });
      });
    }).then(function (verdict) {
      return verdict && verdict.allowEvent === false ? verdict : { allowEvent: true };
    }, function () { return { allowEvent: true }; })
      .then(function (verdict) { event.completed(verdict); });
  }

  // ---- calendar: the toggle and the event handlers --------------------------------------

  var DAYS = { sun: "SU", mon: "MO", tue: "TU", wed: "WE", thu: "TH", fri: "FR", sat: "SA" };
  var WEEKS = { first: "1", second: "2", third: "3", fourth: "4", last: "-1" };
  var MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

  // Office.Recurrence (Mailbox 1.7) as an RFC 5545 RRULE. "day", "weekday" and "weekendDay"
  // as dayOfWeek have no RRULE of one BYDAY; they become the day sets they stand for.
  function rrule(recurrence) {
    if (!recurrence || !recurrence.recurrenceType) { return null; }
    var p = recurrence.recurrenceProperties || {};
    var parts = [];
    var byday = function (day, week) {
      var sets = { day: ["SU", "MO", "TU", "WE", "TH", "FR", "SA"], weekday: ["MO", "TU", "WE", "TH", "FR"], weekendday: ["SA", "SU"] };
      var key = String(day || "").toLowerCase();
      if (sets[key]) {
        return "BYDAY=" + sets[key].join(",") + (week ? ";BYSETPOS=" + WEEKS[week] : "");
      }
      return "BYDAY=" + (week ? WEEKS[week] : "") + DAYS[key.slice(0, 3)];
    };
    switch (recurrence.recurrenceType) {
      case "daily": parts.push("FREQ=DAILY"); break;
      case "weekday": parts.push("FREQ=WEEKLY", "BYDAY=MO,TU,WE,TH,FR"); break;
      case "weekly":
        parts.push("FREQ=WEEKLY", "BYDAY=" + (p.days || []).map(function (d) { return DAYS[String(d).toLowerCase().slice(0, 3)]; }).join(","));
        break;
      case "monthly":
        parts.push("FREQ=MONTHLY", p.dayOfMonth ? "BYMONTHDAY=" + p.dayOfMonth : byday(p.dayOfWeek, p.weekNumber));
        break;
      case "yearly":
        parts.push("FREQ=YEARLY", "BYMONTH=" + (MONTHS.indexOf(String(p.month).toLowerCase().slice(0, 3)) + 1),
          p.dayOfMonth ? "BYMONTHDAY=" + p.dayOfMonth : byday(p.dayOfWeek, p.weekNumber));
        break;
      default: return null;
    }
    if (p.interval && p.interval > 1) { parts.push("INTERVAL=" + p.interval); }
    var end = recurrence.seriesTime && recurrence.seriesTime.getEndDate && recurrence.seriesTime.getEndDate();
    if (end) { parts.push("UNTIL=" + String(end).replace(/-/g, "").slice(0, 8)); }
    return parts.join(";");
  }

  function readAppointment() {
    var current = item();
    var reads = [subject(), promised(current.start, "getAsync"), promised(current.end, "getAsync")];
    reads.push(supports("1.7") && current.recurrence ? promised(current.recurrence, "getAsync").catch(function () { return null; }) : Promise.resolve(null));
    return Promise.all(reads).then(function (values) {
      var recurrence = values[3];
      var zone = (recurrence && recurrence.recurrenceTimeZone && recurrence.recurrenceTimeZone.name) ||
        (Office.context.mailbox.userProfile && Office.context.mailbox.userProfile.timeZone) || clientZone();
      var event = {
        subject: values[0] || "",
        start: values[1].toISOString(), // Office gives UTC times; the zone says how to show them
        end: values[2].toISOString(),
        timezone: zone
      };
      var rule = rrule(recurrence);
      if (rule) { event.recurrence = rule; }
      return event;
    });
  }

  function eventPath(key) {
    return "/api/v1/calendar/events/" + encodeURIComponent(key) + "/zoom";
  }

  // A create can still be on its way to Zoom (status "pending"): wait for the link a while.
  function untilLinked(key, answer, interactive) {
    var tries = 0;
    var wait = function (current) {
      if (current.join_url || current.status === "failed" || tries >= 20) { return current; }
      tries += 1;
      return new Promise(function (resolve) { setTimeout(resolve, 750); }).then(function () {
        return call("GET", eventPath(key), undefined, { interactive: interactive });
      }).then(wait);
    };
    return wait(answer);
  }

  function writeLink(answer, previous) {
    var current = item();
    var steps = Promise.resolve();
    if (answer.location && answer.location.length <= LOCATION_LIMIT) {
      steps = steps.then(function () { return promised(current.location, "setAsync", [answer.location]); });
    }
    return steps.then(function () {
      return readBody();
    }).then(function (body) {
      var cleaned = withoutInvitation(body, "event", answer.event_key, previous);
      var html = body.type === Office.CoercionType.Html;
      return writeBody(body.type, cleaned + (html ? answer.invitation.html : "\n\n" + answer.invitation.text));
    });
  }

  // What the user should know about a series Zoom cannot hold whole (the answer's
  // recurrence_mapping, DESIGN.md): its next 60 times only, or no fixed time at all.
  function howZoomRepeats(answer) {
    if (answer.recurrence_mapping === "window" && answer.recurrence_window) {
      var through = new Date(answer.recurrence_window.through).toLocaleDateString(undefined,
        { day: "numeric", month: "short", year: "numeric" });
      return "Zoom has this series' next 60 times, through " + through + "; linkzoom adds later ones as they come.";
    }
    if (answer.recurrence_mapping === "no-fixed-time") {
      return "Zoom cannot repeat this series that way: its meeting has no fixed time, one link for every occurrence.";
    }
    return null;
  }

  function toggleZoomInAppointment(event) {
    customProperties().then(function (properties) {
      var key = properties.get(EVENT_KEY);
      return key ? removeZoom(properties, key) : addZoom(properties);
    }).catch(notifyError).then(function () { event.completed(); });
  }

  function addZoom(properties) {
    var key = newKey();
    return readAppointment().then(function (appointment) {
      return call("PUT", eventPath(key), appointment, { interactive: true });
    }).then(function (answer) {
      return untilLinked(key, answer, true);
    }).then(function (answer) {
      if (!answer.join_url) {
        throw Object.assign(new Error(answer.last_error || "Zoom did not create the meeting."), { status: 503 });
      }
      properties.set(EVENT_KEY, key);
      properties.set(MEETING_ID, String(answer.zoom_meeting_id));
      return saveProperties(properties).then(function () {
        return writeLink(answer, null);
      }).then(function () {
        var long = answer.location && answer.location.length > LOCATION_LIMIT;
        return notify(long ? "Zoom meeting added (the link is too long for the location; it is in the body)."
          : "Zoom meeting added. " + (howZoomRepeats(answer) || "It follows this event's time."));
      });
    });
  }

  function removeZoom(properties, key) {
    return call("GET", eventPath(key), undefined, { interactive: true }).catch(function (failure) {
      if (failure.status === 404) { return null; }
      throw failure;
    }).then(function (answer) {
      return call("DELETE", eventPath(key), undefined, { interactive: true }).catch(function (failure) {
        if (failure.status !== 404) { throw failure; }
      }).then(function () { return answer; });
    }).then(function (answer) {
      return Promise.all([readBody(), promised(item().location, "getAsync")]).then(function (read) {
        var body = read[0];
        var steps = [writeBody(body.type, withoutInvitation(body, "event", key, answer && answer.invitation))];
        if (answer && read[1] === answer.location) {
          steps.push(promised(item().location, "setAsync", [""]));
        }
        return Promise.all(steps);
      });
    }).then(function () {
      properties.remove(EVENT_KEY);
      properties.remove(MEETING_ID);
      return saveProperties(properties);
    }).then(function () {
      return notify("Zoom meeting removed from this event.");
    });
  }

  // OnAppointmentTimeChanged / OnAppointmentRecurrenceChanged (Mailbox 1.11) and
  // OnAppointmentSend (1.12): the event moved or is being sent; the meeting follows it.
  function follow(event, done) {
    customProperties().then(function (properties) {
      var key = properties.get(EVENT_KEY);
      if (!key || !storedToken()) { return null; }
      return readAppointment().then(function (appointment) {
        return call("PUT", eventPath(key), appointment);
      }).then(function (answer) {
        var known = properties.get(MEETING_ID);
        var told = howZoomRepeats(answer);
        var steps = told ? notify(told) : Promise.resolve();
        if (answer.join_url && (answer.link_changed || String(answer.zoom_meeting_id) !== known)) {
          properties.set(MEETING_ID, String(answer.zoom_meeting_id));
          return steps.then(function () { return saveProperties(properties); }).then(function () {
            return writeLink(answer, null);
          });
        }
        return steps;
      });
    }).catch(function (failure) {
      return notifyError(failure);
    }).then(function () { done(); });
  }

  function onAppointmentTimeChanged(event) { follow(event, function () { event.completed(); }); }
  function onAppointmentRecurrenceChanged(event) { follow(event, function () { event.completed(); }); }
  function onAppointmentSend(event) {
    follow(event, function () { event.completed({ allowEvent: true }); });
  }

  // ---- registration ---------------------------------------------------------------------

  var handlers = {
    insertZoomInMessage: insertZoomInMessage,
    toggleZoomInAppointment: toggleZoomInAppointment,
    onMessageSend: onMessageSend,
    onAppointmentTimeChanged: onAppointmentTimeChanged,
    onAppointmentRecurrenceChanged: onAppointmentRecurrenceChanged,
    onAppointmentSend: onAppointmentSend
  };

  function register() {
    if (Office.actions && Office.actions.associate) {
      Object.keys(handlers).forEach(function (name) { Office.actions.associate(name, handlers[name]); });
    }
  }

  root.linkzoomAddin = { handlers: handlers, rrule: rrule, explain: explain, signOut: function () { return storeToken(null); } };
  if (typeof Office !== "undefined") {
    // Classic Windows' JavaScript runtime never runs Office.onReady; associate at once there.
    if (Office.onReady) { Office.onReady(register); }
    register();
  }
})(typeof self !== "undefined" ? self : this);
