/*
 * An Office.js stand-in for an Outlook mail item, for /addin/try and the browser tests.
 *
 * It implements the part of Office.js the add-in uses, the way Microsoft documents it (the
 * reference is learn.microsoft.com/javascript/api/outlook, source OfficeDev/office-js-docs-
 * reference; each behaviour below names its page). It is not Office: no ribbon, no Exchange.
 * A host page (try.js) gives it an item model and renders what the add-in does to it.
 *
 * - Every *Async method calls back with an AsyncResult {status, value, error, asyncContext};
 *   status is Office.AsyncResultStatus.Succeeded ("succeeded") or .Failed ("failed")
 *   (office.asyncresult, office.asyncresultstatus).
 * - Times are Date objects in UTC (office.time: "the time is in UTC").
 * - body.setSelectedDataAsync inserts at the cursor, at the top if the body never had focus,
 *   and fails with InvalidFormatError for HTML into a text body (office.body).
 * - location.setAsync fails with DataExceedsMaximumSize past 255 characters (office.location).
 * - loadCustomPropertiesAsync gives a CustomProperties whose changes persist with the item only
 *   after saveAsync (office.customproperties); here they live in localStorage per item id.
 * - sessionData holds strings for the compose session only (office.sessiondata, Mailbox 1.11).
 * - notificationMessages: at most 150 characters; an informational message needs icon and
 *   persistent (office.notificationmessages, office.notificationmessagedetails).
 * - roamingSettings: get/set/remove, persisted by saveAsync (office.roamingsettings).
 * - ui.displayDialogAsync opens the page in a separate window; the page answers with
 *   Office.context.ui.messageParent, which reaches the parent as DialogMessageReceived with
 *   {message, origin}; the user closing it is DialogEventReceived with error 12006
 *   (office.ui, dialog-api-in-office-add-ins.md). Plain http is allowed here for the loopback
 *   deployment of `make run`; Office itself requires https.
 * - requirements.isSetSupported("Mailbox", v) is true up to the stand-in's mailbox version.
 */
(function (root) {
  "use strict";

  var SUCCEEDED = "succeeded";
  var FAILED = "failed";
  var ENVELOPE = "office-standin";

  function result(value, context) {
    return { status: SUCCEEDED, value: value, error: null, asyncContext: context };
  }

  function failure(name, message, code, context) {
    return {
      status: FAILED,
      value: undefined,
      error: { name: name, message: message, code: code || 9000 },
      asyncContext: context
    };
  }

  // (options?, callback) or (callback): the documented overloads of every *Async method.
  function split(args) {
    var list = Array.prototype.slice.call(args);
    var callback = typeof list[list.length - 1] === "function" ? list.pop() : function () {};
    return { args: list, callback: callback };
  }

  function later(callback, value) {
    setTimeout(function () { callback(value); }, 0); // Office calls back asynchronously
  }

  function versionAtMost(wanted, have) {
    var a = String(wanted).split(".").map(Number);
    var b = String(have).split(".").map(Number);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) { return (a[i] || 0) < (b[i] || 0); }
    }
    return true;
  }

  function storage(key) {
    try {
      return JSON.parse(root.localStorage.getItem(key) || "null");
    } catch (e) { return null; }
  }

  function keep(key, value) {
    root.localStorage.setItem(key, JSON.stringify(value));
  }

  // ---- dialogs (parent side) --------------------------------------------------------------

  function Dialog(window_, origin) {
    var handlers = { dialogMessageReceived: [], dialogEventReceived: [] };
    var self = this;
    var closed = false;
    this.addEventHandler = function (type, handler) { handlers[type].push(handler); };
    this.close = function () {
      closed = true;
      root.removeEventListener("message", listen);
      clearInterval(watch);
      try { window_.close(); } catch (e) { /* already gone */ }
    };
    this.messageChild = function (message) {
      window_.postMessage({ envelope: ENVELOPE, kind: "messageChild", message: message }, origin);
    };
    function listen(event) {
      if (event.source !== window_ || closed) { return; }
      var data = event.data;
      var message = data && data.envelope === ENVELOPE ? data.message : (typeof data === "string" ? data : null);
      if (message === null) { return; }
      handlers.dialogMessageReceived.forEach(function (h) {
        h({ type: "dialogMessageReceived", message: message, origin: event.origin });
      });
    }
    root.addEventListener("message", listen);
    var watch = setInterval(function () {
      if (!closed && window_.closed) {
        self.close();
        handlers.dialogEventReceived.forEach(function (h) { h({ type: "dialogEventReceived", error: 12006 }); });
      }
    }, 250);
  }

  function displayDialogAsync(url) {
    var call = split(Array.prototype.slice.call(arguments, 1));
    var options = call.args[0] || {};
    var target;
    try {
      target = new URL(url, root.location.href);
    } catch (e) {
      return later(call.callback, failure("InvalidUrl", "The URL is not valid.", 12003));
    }
    if (target.origin !== root.location.origin) {
      // Office: the first page of a dialog must be in the add-in's own domain (error 12004).
      return later(call.callback, failure("DomainNotTrusted", "The dialog's first page must be on the add-in's domain.", 12004));
    }
    var width = Math.round((options.width || 50) / 100 * root.screen.availWidth);
    var height = Math.round((options.height || 50) / 100 * root.screen.availHeight);
    var opened = root.open(target.href, "officeStandinDialog", "popup=yes,width=" + width + ",height=" + height);
    if (!opened) {
      return later(call.callback, failure("PopupBlocked", "The browser blocked the dialog window.", 12009));
    }
    later(call.callback, result(new Dialog(opened, target.origin)));
  }

  // ---- dialogs (child side): a page opened by displayDialogAsync -------------------------

  function messageParent(message) {
    var parent = root.opener;
    if (!parent) { throw new Error("messageParent: this page was not opened as a dialog"); }
    parent.postMessage({ envelope: ENVELOPE, kind: "messageParent", message: String(message) }, "*");
  }

  // ---- the item ---------------------------------------------------------------------------

  // model: {id, itemType, subject, body: {type, content, cursor}, location, start, end,
  //         recurrence, seriesId} plus render callbacks from the host page.
  var sessions = {}; // sessionData lives as long as the compose window: per item, in memory

  function Item(model, host) {
    var item = this;
    var session = sessions[model.id] = sessions[model.id] || {};
    var notices = {};
    this.itemType = model.itemType;
    this.itemId = model.saved ? model.id : undefined;

    this.subject = {
      getAsync: function () { var c = split(arguments); later(c.callback, result(host.read("subject"))); },
      setAsync: function (value) { var c = split(Array.prototype.slice.call(arguments, 1)); host.write("subject", String(value)); later(c.callback, result()); }
    };

    this.body = {
      getTypeAsync: function () {
        var c = split(arguments);
        later(c.callback, result(host.bodyType() === "html" ? Office.CoercionType.Html : Office.CoercionType.Text));
      },
      getAsync: function (coercionType) {
        var c = split(Array.prototype.slice.call(arguments, 1));
        var html = host.bodyType() === "html";
        if (coercionType === Office.CoercionType.Html && !html) {
          // A text body asked for as HTML comes back as text wrapped by Outlook; keep it simple.
          return later(c.callback, result(host.bodyContent()));
        }
        later(c.callback, result(coercionType === Office.CoercionType.Text && html ? host.bodyText() : host.bodyContent()));
      },
      setAsync: function (data, options) {
        var c = split(Array.prototype.slice.call(arguments, 1));
        var type = (c.args[0] || {}).coercionType || Office.CoercionType.Text;
        if (type === Office.CoercionType.Html && host.bodyType() !== "html") {
          return later(c.callback, failure("InvalidFormatError", "The body is plain text; HTML cannot be set.", 9000));
        }
        if (String(data).length > 1000000) {
          return later(c.callback, failure("DataExceedsMaximumSize", "The data is longer than 1,000,000 characters.", 9001));
        }
        host.setBody(String(data));
        later(c.callback, result());
      },
      setSelectedDataAsync: function (data) {
        var c = split(Array.prototype.slice.call(arguments, 1));
        var type = (c.args[0] || {}).coercionType || Office.CoercionType.Text;
        if (type === Office.CoercionType.Html && host.bodyType() !== "html") {
          return later(c.callback, failure("InvalidFormatError", "The body is plain text; HTML cannot be inserted.", 9000));
        }
        if (String(data).length > 1000000) {
          return later(c.callback, failure("DataExceedsMaximumSize", "The data is longer than 1,000,000 characters.", 9001));
        }
        host.insertAtCursor(String(data), type === Office.CoercionType.Html);
        later(c.callback, result());
      }
    };

    if (model.itemType === "appointment") {
      this.location = {
        getAsync: function () { var c = split(arguments); later(c.callback, result(host.read("location"))); },
        setAsync: function (value) {
          var c = split(Array.prototype.slice.call(arguments, 1));
          if (String(value).length > 255) {
            return later(c.callback, failure("DataExceedsMaximumSize", "The location can be at most 255 characters.", 9001));
          }
          host.write("location", String(value));
          later(c.callback, result());
        }
      };
      var time = function (name) {
        return {
          getAsync: function () { var c = split(arguments); later(c.callback, result(new Date(host.read(name)))); },
          setAsync: function (value) {
            var c = split(Array.prototype.slice.call(arguments, 1));
            if (!(value instanceof Date) || isNaN(value.getTime())) {
              return later(c.callback, failure("InvalidArgument", "Expected a Date.", 9002));
            }
            host.write(name, value.toISOString());
            later(c.callback, result());
          }
        };
      };
      this.start = time("start");
      this.end = time("end");
      this.recurrence = {
        getAsync: function () {
          var c = split(arguments);
          var r = host.read("recurrence");
          later(c.callback, result(r ? recurrenceObject(r) : null));
        }
      };
      this.seriesId = model.seriesId || null;
    } else {
      this.sessionData = {
        getAsync: function (name) {
          var c = split(Array.prototype.slice.call(arguments, 1));
          if (!(name in session)) {
            return later(c.callback, failure("KeyNotFound", "No session data under that name.", 9003));
          }
          later(c.callback, result(session[name]));
        },
        setAsync: function (name, value) {
          var c = split(Array.prototype.slice.call(arguments, 2));
          if (typeof value !== "string") {
            return later(c.callback, failure("InvalidArgument", "Session data values are strings.", 9002));
          }
          session[name] = value;
          later(c.callback, result());
        },
        removeAsync: function (name) { var c = split(Array.prototype.slice.call(arguments, 1)); delete session[name]; later(c.callback, result()); },
        clearAsync: function () {
          var c = split(arguments);
          Object.keys(session).forEach(function (k) { delete session[k]; });
          later(c.callback, result());
        }
      };
    }

    this.loadCustomPropertiesAsync = function () {
      var c = split(arguments);
      var storedKey = "officeStandin:customProperties:" + model.id;
      var values = Object.assign({}, storage(storedKey) || {});
      var properties = {
        get: function (name) { return values[name]; },
        set: function (name, value) { values[name] = value; },
        remove: function (name) { delete values[name]; },
        getAll: function () { return Object.assign({}, values); },
        saveAsync: function () {
          var s = split(arguments);
          keep(storedKey, values);
          host.changed();
          later(s.callback, result());
        }
      };
      later(c.callback, result(properties));
    };

    this.notificationMessages = {
      replaceAsync: function (key, details) {
        var c = split(Array.prototype.slice.call(arguments, 2));
        var types = Office.MailboxEnums.ItemNotificationMessageType;
        if (!details || !details.message || details.message.length > 150) {
          return later(c.callback, failure("DataExceedsMaximumSize", "A notification message is 1 to 150 characters.", 9001));
        }
        if (details.type === types.InformationalMessage && (!details.icon || typeof details.persistent !== "boolean")) {
          return later(c.callback, failure("InvalidArgument", "An informational message needs icon and persistent.", 9002));
        }
        notices[key] = details;
        host.notices(notices);
        later(c.callback, result());
      },
      removeAsync: function (key) { var c = split(Array.prototype.slice.call(arguments, 1)); delete notices[key]; host.notices(notices); later(c.callback, result()); },
      getAllAsync: function () { var c = split(arguments); later(c.callback, result(Object.keys(notices).map(function (k) { return Object.assign({ key: k }, notices[k]); }))); }
    };
    return item;
  }

  // office.recurrence: the recurrence as a dictionary plus seriesTime's getters.
  function recurrenceObject(r) {
    return {
      recurrenceType: r.recurrenceType,
      recurrenceProperties: r.recurrenceProperties || {},
      recurrenceTimeZone: r.recurrenceTimeZone || null,
      seriesTime: {
        getStartDate: function () { return r.startDate || null; },
        getEndDate: function () { return r.endDate || null; },
        getStartTime: function () { return r.startTime || null; },
        getDuration: function () { return r.duration || null; }
      }
    };
  }

  // ---- Office -----------------------------------------------------------------------------

  var associations = {};
  var ready = [];
  var isReady = false;
  var settings = storage("officeStandin:roamingSettings") || {};

  var Office = {
    AsyncResultStatus: { Succeeded: SUCCEEDED, Failed: FAILED },
    CoercionType: { Text: "text", Html: "html" },
    EventType: {
      DialogMessageReceived: "dialogMessageReceived",
      DialogEventReceived: "dialogEventReceived"
    },
    MailboxEnums: {
      ItemType: { Message: "message", Appointment: "appointment" },
      ItemNotificationMessageType: {
        InformationalMessage: "informationalMessage",
        ErrorMessage: "errorMessage",
        ProgressIndicator: "progressIndicator",
        InsightMessage: "insightMessage"
      }
    },
    HostType: { Outlook: "Outlook" },
    actions: {
      associate: function (name, handler) { associations[name] = handler; }
    },
    onReady: function (callback) {
      var info = { host: "Outlook", platform: "OfficeOnline" };
      var promise = new Promise(function (resolve) {
        if (isReady) { resolve(info); } else { ready.push(resolve); }
      });
      if (callback) { promise.then(callback); }
      return promise;
    },
    context: {
      requirements: {
        isSetSupported: function (name, version) {
          return name === "Mailbox" && versionAtMost(version || "1.1", standin.mailboxVersion);
        }
      },
      roamingSettings: {
        get: function (name) { return settings[name]; },
        set: function (name, value) { settings[name] = value; },
        remove: function (name) { delete settings[name]; },
        saveAsync: function () { var c = split(arguments); keep("officeStandin:roamingSettings", settings); later(c.callback, result()); }
      },
      ui: {
        displayDialogAsync: displayDialogAsync,
        messageParent: messageParent
      },
      mailbox: {
        item: null,
        userProfile: { displayName: "Try Linkzoom", emailAddress: "try@example.org", timeZone: "UTC" }
      }
    }
  };

  var standin = {
    mailboxVersion: "1.13",
    // Open an item (the host page's model and renderer); the add-in sees it as mailbox.item.
    open: function (model, host) {
      Office.context.mailbox.item = new Item(model, host);
      if (!isReady) {
        isReady = true;
        ready.splice(0).forEach(function (resolve) { resolve({ host: "Outlook", platform: "OfficeOnline" }); });
      }
      return Office.context.mailbox.item;
    },
    // Run an associated function as Outlook does for a button or an event: with an event
    // object whose completed() ends the run (office.addincommands.event). Resolves with the
    // options completed() was given.
    invoke: function (name, extra) {
      var handler = associations[name];
      if (!handler) { return Promise.reject(new Error("no function associated as " + name)); }
      return new Promise(function (resolve) {
        var event = Object.assign({ source: { id: name }, completed: function (options) { resolve(options || {}); } }, extra || {});
        handler(event);
      });
    },
    associated: function () { return Object.keys(associations); },
    resetSettings: function () { settings = {}; keep("officeStandin:roamingSettings", settings); }
  };

  // A page opened as a dialog has an opener and no item: only messageParent matters there.
  var script = root.document && root.document.currentScript;
  if (root.opener && !(script && script.dataset.role === "host")) {
    isReady = true;
  }
  root.Office = Office;
  root.OfficeStandin = standin;
})(window);
